"""evalspec tasks summary: figures, messy data, every format, and a self-contained report."""

from __future__ import annotations

import json
import math
import re
import shutil

import pytest

from evalspec.platform.sample_tasks import sample_tasks
from evalspec.results.tasks_summary import Running, wilson
from tests.conftest import screenshot


def response(source: str, model: str | None, **scores) -> dict:
    message = {"role": "assistant", "source_id": source, "content": {"text": "..."},
               "annotations": [{"key": k, "value": v} for k, v in scores.items()]}
    if model:
        message["model_parameters"] = {"model": model}
    return message


def task(messages: list[dict], turn: list[dict] | None = None, status: str = "completed",
         task_id: str = "t") -> dict:
    return {"task_id": task_id, "status": status, "threads": [{"id": "th", "turns": [
        {"id": "tu", "messages": [{"role": "user", "source_id": "user", "content": {},
                                   "annotations": []}, *messages],
         "annotations": turn or []}], "annotations": []}]}


def write(tmp_path, lines: list) -> str:
    path = tmp_path / "tasks.jsonl"
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n"
                            for x in lines))
    return str(path)


def test_means_intervals_and_win_rates_are_right(tmp_path, run) -> None:
    scores = [(3, 4), (4, 5), (5, 5), (2, 4)]
    picks = ["b", "b", "a", "b"]
    lines = [task([response("a", "m/a", overall=x), response("b", "m/b", overall=y)],
                  [{"key": "selected_model_id", "value": pick},
                   {"key": "likert_value", "value": 6 if pick == "b" else 2}])
             for (x, y), pick in zip(scores, picks, strict=True)]
    result = run("tasks", "summary", write(tmp_path, lines), "--format", "json")
    doc = json.loads(result.out)
    from scipy.stats import t as student  # the reference: exact quantiles, not a table

    half = student.ppf(0.975, 3) * math.sqrt(((3 - 3.5) ** 2 + 0.5 ** 2 + 1.5 ** 2
                                              + 1.5 ** 2) / 3) / 2
    assert doc["numeric"][0] == {"source": "a", "model": "m/a", "annotations": {"overall": {
        "n": 4, "mean": 3.5, "sd": round(math.sqrt(5 / 3), 4),
        "ci95": [round(3.5 - half, 4), round(3.5 + half, 4)]}}}
    low, high = wilson(1, 4)
    assert doc["preferences"] == [{
        "first": "a", "second": "b", "comparisons": 4, "first_wins": 1, "second_wins": 3,
        "first_win_rate": 0.25, "first_win_rate_ci95": [round(low, 4), round(high, 4)],
        "position_bias": {"shown_first_win_rate": 0.25,
                          "ci95": [round(low, 4), round(high, 4)]},
        "likert": {"2": 1, "6": 3},
        # a's and b's overall ratings of one prompt, paired: (3,4) (4,5) (5,5) (2,4)
        "paired_ratings": {"overall": {"n": 4, "mean_difference": -1.0,
                                       "ci95": [-2.2992, 0.2992], "p_value": 0.0917211,
                                       "test": "paired t"}}}]
    assert (round(low, 4), round(high, 4)) == (0.0456, 0.6994)  # published Wilson values
    assert (doc["tasks"], doc["tasks_used"], doc["skipped"]) == (4, 4, {})


def test_running_statistics_match_the_textbook() -> None:
    running = Running()
    for value in (2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0):
        running.add(value)
    assert (running.n, running.mean, round(running.sd, 6)) == (8, 5.0, 2.13809)
    single = Running()
    single.add(3.0)
    assert single.interval() == (3.0, 3.0)


def test_messy_data_is_counted_never_fatal(tmp_path, run) -> None:
    good = task([response("a", "m/a", overall=4, note="fine"), response("b", None, overall=2)],
                [{"key": "selected_model_id", "value": "a"}, {"key": "likert_value",
                                                               "value": 2}])
    lines = [
        good,
        {"task_id": "p", "status": "pending", "threads": []},
        '{"task_id": "broken", ',
        "[1, 2]",
        "",
        {"task_id": "nothreads", "status": "completed"},
        task([{"role": "tool", "source_id": "x", "annotations": [{"key": "k", "value": 1}]}]),
        task([response("a", "m/a", overall=None), response("b", "m/b", overall=float("nan"))]),
        '{"task_id": "nan", "status": "completed", "threads": [{"turns": [{"messages": '
        '[{"role": "assistant", "source_id": "a", "annotations": [{"key": "overall", '
        '"value": NaN}, {"value": 3}]}]}]}]}',
        task([response("a", "m/a"), response("b", "m/b")],
             [{"key": "selected_model_id", "value": "c"}, {"key": "likert_value",
                                                           "value": "five"}]),
        task([response("a", "m/a"), response("b", "m/b"), response("c", "m/c")],
             [{"key": "selected_model_id", "value": "a"}]),
        {"task_id": "err", "status": "error", "threads": None},
    ]
    result = run("tasks", "summary", write(tmp_path, lines))
    assert result.code == 0, result.err
    assert result.out == f"""\
{tmp_path / 'tasks.jsonl'}: 9 tasks on 11 lines; 1 summarised.
  skipped 5: completed task with nothing to summarise
  skipped 2: annotation value not finite
  skipped 1: annotation without a key
  skipped 1: annotation without a value
  skipped 1: completed task without threads
  skipped 1: likert_value is not an integer
  skipped 1: line is not a task object
  skipped 1: line is not valid JSON
  skipped 1: message with unknown role 'tool'
  skipped 1: preference on a turn with 3 responses (needs 2)
  skipped 1: selected_model_id names no response of the turn
  skipped 1: task not completed (status error)
  skipped 1: task not completed (status pending)

Numeric annotations: mean with a 95% confidence interval
  source  model            annotation  n  mean  95% CI
  a       m/a              overall     1  4.00  [4.00, 4.00]
  b       (unknown model)  overall     1  2.00  [2.00, 2.00]

Pairwise preference (selected_model_id): the first's win rate, 95% Wilson interval
  first  second  comparisons  first wins  win rate  95% CI
  a      b                 1           1    100.0%  [20.6%, 100.0%]
  a vs b: the response shown first is chosen 100.0% [20.6%, 100.0%] of the time (50% is no \
position bias); both display orders are merged above

Bradley-Terry strengths: none (b never wins; a never loses: strengths need every source to \
win and to lose (or tie) at least once)

Paired ratings (both responses to one prompt): first - second, 95% interval, paired test
  first  second  annotation  n  difference  95% CI  p
  a      b       overall     1       +2.00  -       -

Likert (likert_value), a vs b, a shown first: 1 rating
    2       1  ########################################

Not numeric, so not averaged: note (1)
"""


def test_a_missing_file_is_a_clear_error(tmp_path, run) -> None:
    result = run("tasks", "summary", str(tmp_path / "nope.jsonl"))
    assert (result.code, result.err) == (1, f"Error: {tmp_path / 'nope.jsonl'}: no such "
                                            "file\n")


@pytest.fixture
def sample_file(tmp_path) -> str:
    return write(tmp_path, list(sample_tasks(300)))


def test_markdown_summary(sample_file, run) -> None:
    result = run("tasks", "summary", sample_file, "--format", "markdown")
    lines = result.out.splitlines()
    assert lines[:8] == [f"### Annotation summary: `{sample_file}`", "",
                         "300 tasks, 270 summarised.", "", "| skipped | reason |",
                         "|---:|---|", "| 30 | task not completed (status pending) |", ""]
    assert "| base_model | test_model | 270 | 118 | 43.7% | [37.9%, 49.7%] |" in lines


def test_html_report_is_one_self_contained_file(sample_file, run, tmp_path) -> None:
    out = tmp_path / "report.html"
    result = run("tasks", "summary", sample_file, "--format", "html", "-o", str(out))
    assert result.err == f"Wrote the html summary of 300 tasks to {out}.\n"
    html = out.read_text()
    assert html.startswith("<!doctype html>") and html.count("<svg") == 8  # 6 keys, 2 pair
    for outside in ("http://", "https://", "src=", "<link", "<script", "@import", "url("):
        assert outside not in html.replace('"http://www.w3.org/2000/svg"', "")
    assert "base_model wins 43.7%, 95% Wilson interval 37.9%–49.7%" in html


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")
def test_html_report_renders_in_headless_chromium(sample_file, run, tmp_path) -> None:
    out = tmp_path / "report.html"
    assert run("tasks", "summary", sample_file, "--format", "html", "-o", str(out)).code == 0
    png = screenshot(out, tmp_path, "1000,2400")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000  # a page with charts


def test_html_axis_keeps_a_handful_of_ticks_for_large_scores(tmp_path, run) -> None:
    # A score of 1e12 once asked the chart for a trillion ticks (a hang, not an error).
    lines = [task([response("a", "m/a", latency_ms=v)]) for v in (1e12, 3e12)]
    result = run("tasks", "summary", write(tmp_path, lines), "--format", "html")
    assert result.code == 0
    chart = result.out.split("<svg", 2)[1]
    labels = re.findall(r'text-anchor="middle">([^<]*)</text>', chart)
    ticks = [float(label) for label in labels]
    assert ticks[0] == 0 and 5 <= len(ticks) <= 11 and ticks[-1] >= 3e12
    steps = {round(b - a) for a, b in zip(ticks, ticks[1:], strict=False)}
    assert len(steps) == 1  # evenly spaced


def _messy_tasks():
    """Tasks shaped like seed 000 with anything at the leaves, and junk in between."""
    from hypothesis import strategies as st

    junk = st.one_of(st.none(), st.booleans(), st.integers(-3, 9), st.text(max_size=3),
                     st.floats(allow_nan=True, allow_infinity=True), st.lists(st.none(),
                                                                              max_size=2))
    def mostly(good):  # three times in four the expected shape, else junk
        return st.integers(0, 3).flatmap(lambda n: junk if n == 0 else good)

    value = st.one_of(junk, st.sampled_from(["a", "b", "c"]), st.integers(1, 7),
                      st.integers(-10**15, 10**15), st.floats(-1e300, 1e300))
    annotation = mostly(st.fixed_dictionaries(
        {"key": st.one_of(st.sampled_from(["overall", "selected_model_id", "likert_value"]),
                          junk), "value": value}))
    message = mostly(st.fixed_dictionaries(
        {"role": mostly(st.sampled_from(["assistant", "assistant", "user", "tool"])),
         "source_id": mostly(st.sampled_from(["a", "b", "c"])),
         "model_parameters": mostly(st.fixed_dictionaries({"model": value})),
         "annotations": mostly(st.lists(annotation, min_size=1, max_size=4))}))
    turn = mostly(st.fixed_dictionaries(
        {"messages": mostly(st.lists(message, min_size=1, max_size=4)),
         "annotations": mostly(st.lists(annotation, max_size=3))}))
    thread = mostly(st.fixed_dictionaries({"turns": mostly(st.lists(turn, min_size=1,
                                                                    max_size=3))}))
    task = mostly(st.fixed_dictionaries(
        {"status": mostly(st.just("completed")),
         "threads": mostly(st.lists(thread, min_size=1, max_size=2))}))
    return st.lists(task, max_size=5)


def test_no_task_shape_makes_the_summary_crash() -> None:
    from hypothesis import given, settings

    from evalspec.results.tasks_report import render_html, render_markdown, render_text
    from evalspec.results.tasks_summary import Summary

    @settings(max_examples=600, deadline=None)
    @given(_messy_tasks())
    def check(tasks) -> None:
        summary = Summary("fuzz.jsonl")
        for task in tasks:
            summary.lines += 1
            summary.add_task(task)
        assert summary.used <= summary.tasks <= summary.lines
        json.dumps(summary.to_json())
        for render in (render_text, render_markdown, render_html):
            assert render(summary)

    check()


def test_intervals_use_exact_t_quantiles_above_thirty_degrees_of_freedom() -> None:
    from scipy.stats import t as student

    from evalspec.results.tasks_summary import Running

    for n in (2, 31, 32, 60, 500):
        running = Running()
        for i in range(n):
            running.add(float(i % 7))
        low, high = running.interval()
        half = student.ppf(0.975, n - 1) * running.sd / math.sqrt(n)
        assert (low, high) == (pytest.approx(running.mean - half, rel=1e-9),
                               pytest.approx(running.mean + half, rel=1e-9))


def test_both_display_orders_are_one_pair_and_position_bias_is_shown(tmp_path, run) -> None:
    """40 tasks show a then b, 40 show b then a; the one shown first is picked 3 times in 4:
    a and b are even, and the bias is the display order's (it reported 'a beats b 75 %' and
    'b beats a 75 %')."""
    lines = []
    for i in range(80):
        shown = ["a", "b"] if i < 40 else ["b", "a"]
        pick = shown[0] if i % 4 else shown[1]
        lines.append(task([response(s, f"m/{s}", overall=3) for s in shown],
                          [{"key": "selected_model_id", "value": pick},
                           {"key": "likert_value", "value": 2 if pick == shown[0] else 6}]))
    doc = json.loads(run("tasks", "summary", write(tmp_path, lines), "--format", "json").out)
    [pair] = doc["preferences"]
    assert (pair["first"], pair["second"], pair["comparisons"]) == ("a", "b", 80)
    assert (pair["first_wins"], pair["second_wins"], pair["first_win_rate"]) == (40, 40, 0.5)
    assert pair["position_bias"]["shown_first_win_rate"] == 0.75
    low, high = wilson(60, 80)
    assert pair["position_bias"]["ci95"] == [round(low, 4), round(high, 4)]
    assert pair["likert"] == {"2": 30, "6": 10}
    assert pair["likert_shown_second_first"] == {"2": 30, "6": 10}
    text = run("tasks", "summary", write(tmp_path, lines)).out
    assert "a vs b: the response shown first is chosen 75.0%" in text
    assert "Likert (likert_value), a vs b, b shown first: 40 ratings" in text


def test_ratings_of_two_responses_to_one_prompt_are_paired(tmp_path, run) -> None:
    from scipy.stats import ttest_rel

    first = [3, 4, 5, 2, 4, 3]
    second = [2, 4, 3, 1, 2, 3]
    lines = [task([response("a", "m/a", overall=x), response("b", "m/b", overall=y)])
             for x, y in zip(first, second, strict=True)]
    doc = json.loads(run("tasks", "summary", write(tmp_path, lines), "--format", "json").out)
    [pair] = doc["preferences"]
    rated = pair["paired_ratings"]["overall"]
    assert (rated["n"], rated["mean_difference"], rated["test"]) == (6, 1.0, "paired t")
    assert rated["p_value"] == pytest.approx(ttest_rel(first, second).pvalue, rel=1e-5)
    text = run("tasks", "summary", write(tmp_path, lines)).out
    assert "Paired ratings (both responses to one prompt): first - second" in text


def _preferences(outcomes: list[tuple[str, str, str]]) -> list:
    return [task([response(first, f"m/{first}"), response(second, f"m/{second}")],
                 [{"key": "selected_model_id",
                   "value": {"first": first, "second": second, "tie": "tie"}[result]}])
            for first, second, result in outcomes]


def test_bradley_terry_with_ties_is_the_maximum_likelihood_fit(tmp_path, run) -> None:
    """Davidson's model fitted by its fixed point, against a direct numerical maximum of the
    same likelihood (scipy), on data drawn from known strengths."""
    import random

    from scipy.optimize import minimize

    rng = random.Random(1)
    true, nu = {"a": 3.0, "b": 1.0, "c": 0.5, "d": 2.0}, 0.6
    outcomes = []
    for _ in range(400):
        i, j = sorted(rng.sample(sorted(true), 2))
        root = math.sqrt(true[i] * true[j])
        d = true[i] + true[j] + nu * root
        u = rng.random()
        outcomes.append((i, j, "first" if u < true[i] / d
                         else "tie" if u < (true[i] + nu * root) / d else "second"))
    doc = json.loads(run("tasks", "summary", write(tmp_path, _preferences(outcomes)),
                         "--format", "json").out)
    strengths = doc["bradley_terry"]
    names = sorted(true)

    def negative_log_likelihood(x) -> float:
        theta = dict(zip(names, [0.0, *x[:3]], strict=True))
        tie = math.exp(x[3])
        total = 0.0
        for i, j, result in outcomes:
            pi, pj = math.exp(theta[i]), math.exp(theta[j])
            root = math.sqrt(pi * pj)
            numerator = pi if result == "first" else pj if result == "second" else tie * root
            total -= math.log(numerator / (pi + pj + tie * root))
        return total

    best = minimize(negative_log_likelihood, [0.0] * 4, method="BFGS",
                    options={"gtol": 1e-10}).x
    weights = {k: math.exp(v) for k, v in zip(names, [0.0, *best[:3]], strict=True)}
    expected = {k: v / sum(weights.values()) for k, v in weights.items()}
    assert {s["source"]: s["share"] for s in strengths["sources"]} == {
        k: pytest.approx(v, abs=1e-4) for k, v in expected.items()}
    assert strengths["tie_parameter"] == pytest.approx(math.exp(best[3]), abs=1e-4)
    assert [s["source"] for s in strengths["sources"]] == ["a", "d", "b", "c"]
    assert all(s["ci95"][0] <= s["share"] <= s["ci95"][1] for s in strengths["sources"])
    assert strengths["ties"] == sum(1 for o in outcomes if o[2] == "tie")
    again = json.loads(run("tasks", "summary", write(tmp_path, _preferences(outcomes)),
                           "--format", "json").out)
    assert again["bradley_terry"] == strengths  # the bootstrap is seeded
