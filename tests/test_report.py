"""evalspec report: the statistics against scipy, and the judge-sweep compared end to end."""

from __future__ import annotations

import json
import math
import random
import re

import httpx
import jsonschema
import pytest

from evalspec.results.report_schema import report_schema
from evalspec.results.report_schema import schema_text as report_schema_text
from evalspec.results.stats import holm, paired, summarize, t_cdf, t_quantile
from tests.conftest import ROOT, screenshot
from tests.test_plan_apply import ENV, apply, plan

stats = pytest.importorskip("scipy.stats")  # a test-only dependency: the reference


@pytest.mark.parametrize("df", [1, 2, 3, 7, 30, 120, 5000])
def test_t_distribution_matches_scipy(df: int) -> None:
    for t in (-12.0, -2.5, -0.3, 0.0, 0.7, 1.96, 4.0, 40.0):
        assert t_cdf(t, df) == pytest.approx(stats.t.cdf(t, df), abs=1e-11)
    for p in (0.5, 0.9, 0.975, 0.995):
        assert t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), abs=1e-8)


def test_intervals_and_paired_tests_match_scipy() -> None:
    rng = random.Random(7)
    for n in (2, 5, 40, 1000):
        base = [rng.random() for _ in range(n)]
        other = [min(1.0, max(0.0, b + rng.gauss(0.03, 0.2))) for b in base]
        summary = summarize(other)
        low, high = stats.t.interval(0.95, n - 1, loc=sum(other) / n, scale=stats.sem(other))
        assert (summary.low, summary.high) == (pytest.approx(low, abs=1e-9),
                                               pytest.approx(high, abs=1e-9))
        compared = paired(other, base)
        assert compared.p_value == pytest.approx(stats.ttest_rel(other, base).pvalue,
                                                 abs=1e-9)
        assert compared.wins + compared.ties + compared.losses == n


def test_holm_adjustment() -> None:
    # Holm (1979): sorted p-values times (m - rank), kept monotone, capped at 1.
    assert holm([0.01, 0.04, 0.03, 0.2]) == pytest.approx([0.04, 0.09, 0.09, 0.2])
    assert math.isnan(holm([math.nan, 0.5])[0]) and holm([math.nan, 0.5])[1] == 0.5


def test_degenerate_inputs() -> None:
    assert summarize([]).n == 0 and math.isnan(summarize([]).mean)
    one = summarize([0.5])
    assert (one.n, one.mean, one.has_interval) == (1, 0.5, False)
    same = paired([1.0, 1.0, 1.0], [1.0, 1.0, 1.0])
    assert (same.p_value, same.ties) == (1.0, 3)
    shifted = paired([1.0, 1.0], [0.0, 0.0])  # 0/1 scores: McNemar's exact test
    assert (shifted.p_value, shifted.wins) == (pytest.approx(0.5), 2)
    steady = paired([0.7, 0.7], [0.2, 0.2])  # other scores: no spread, a sure difference
    assert (steady.p_value, steady.wins) == (0.0, 2)


QUALITIES = "openai/gpt-4o=0.9,*mini=0.6,anthropic/*=0.3"


@pytest.fixture
def scored(workdir, serve, run):
    """examples/judge-sweep applied to a platform told gpt-4o is best and claude worst."""
    from evalspec.platform.scoring import parse_qualities

    server = serve(complete_after=0.1, model_quality=parse_qualities(QUALITIES.split(",")))
    root = workdir("judge-sweep")
    assert apply(run, root, server.url).code == 0
    assert run("status", str(root), "--endpoint", server.url, "--watch", "--interval", "0.05",
               env=ENV).code == 0
    return root, server.url


def test_the_best_model_is_on_top_and_its_interval_excludes_the_worst(scored, run) -> None:
    root, url = scored
    result = run("report", "faq-judged", str(root), "--endpoint", url, "--format", "json",
                 env=ENV)
    assert result.code == 0, result.err
    document = json.loads(result.out)
    jsonschema.validate(document, report_schema())
    assert (document["rows"], document["baseline"]) == (60, "faq-openai-gpt-4o")
    assert all(m["missing_rows"] == 0 for m in document["members"])
    for score in document["scores"]:
        best, middle, worst = score["members"]
        assert [best["name"], middle["name"], worst["name"]] == [
            "faq-openai-gpt-4o", "faq-openai-gpt-4o-mini", "faq-anthropic-claude-3-5-sonnet"]
        assert best["ci95"][0] > worst["ci95"][1]
        assert worst["vs_baseline"]["p_holm"] < 0.001
        assert worst["vs_baseline"]["ci95"][1] < 0
    rouge = document["scores"][0]
    assert (rouge["alias"], rouge["task_type"], rouge["detail"]) == ("rouge", "metric", "rougeL")
    assert rouge["members"][0] == {  # fixed by the seed
        "name": "faq-openai-gpt-4o", "n": 60, "mean": 0.9438, "ci95": [0.900032, 0.987567],
        "interval_method": "cluster", "design_effect": 0.947947,  # 20 references x 3 rows
        "common": {"n": 60, "mean": 0.9438, "ci95": [0.900032, 0.987567]},
        "rows_without_score": {"missing": 0, "failed": 0, "pending": 0, "unscored": 0}}
    assert rouge["common_rows"] == 60
    p_values = [m["vs_baseline"][k] for s in document["scores"] for m in s["members"]
                if "vs_baseline" in m for k in ("p_value", "p_holm")]
    assert p_values and all(p > 0 for p in p_values)  # significant digits, never 0.0
    text = run("report", "faq-judged", str(root), "--endpoint", url, env=ENV).out.splitlines()
    assert text[0] == "EvaluationGroup/faq-judged: 3 members, 60 rows; baseline faq-openai-gpt-4o"
    assert text[1] == ("rows clustered by reference: 20 clusters; intervals and tests are "
                       "cluster-robust (t on clusters - 1 degrees of freedom)")
    verdict = text.index("Verdict:")
    assert " ".join(line.strip() for line in text[verdict + 1:text.index("", verdict)]) == (
        "rouge: faq-openai-gpt-4o ranks first (0.944 on 60 common rows); against "
        "faq-openai-gpt-4o: faq-openai-gpt-4o-mini is significantly worse (-0.096, p (Holm) "
        "0.016); faq-anthropic-claude-3-5-sonnet is significantly worse (-0.281, p (Holm) "
        "3.5e-05) judge: faq-openai-gpt-4o ranks first (0.867 on 60 common rows); against "
        "faq-openai-gpt-4o: faq-openai-gpt-4o-mini is significantly worse (-0.167, p (Holm) "
        "0.021); faq-anthropic-claude-3-5-sonnet is significantly worse (-0.392, p (Holm) "
        "0.00062)")
    rouge = text.index("rouge (metric: rougeL); ranked on 60 common rows")
    assert text[rouge + 1] == (
        "  design effect (variance over independent rows): faq-openai-gpt-4o 0.95, "
        "faq-openai-gpt-4o-mini 0.79, faq-anthropic-claude-3-5-sonnet 1.24")
    assert text[rouge + 2].split()[:6] == ["member", "n", "mean", "95%", "CI", "all"]
    assert text[rouge + 3].split() == ["faq-openai-gpt-4o", "60", "0.944", "[0.900,", "0.988]",
                                       "0.944", "(n=60)", "-", "baseline"]
    # Clustered by reference, claude's p-value is 1.8e-05, not the 6.2e-09 of independent rows.
    assert text[rouge + 5].split()[-4:] == ["1.8e-05", "3.5e-05", "0.146", "5/19/36"]
    unclustered = run("report", "faq-judged", str(root), "--endpoint", url,
                      "--cluster-by", "id", env=ENV).out.splitlines()
    assert unclustered[1] == ("rows clustered by id: 60 clusters; intervals and tests are "
                              "cluster-robust (t on clusters - 1 degrees of freedom)")


def test_another_baseline_and_markdown(scored, run) -> None:
    from markdown_it import MarkdownIt

    root, url = scored
    result = run("report", "faq-judged", str(root), "--endpoint", url, "--baseline",
                 "faq-anthropic-claude-3-5-sonnet", "--format", "markdown", env=ENV)
    assert result.out.startswith("### evalspec report for `EvaluationGroup/faq-judged`\n")
    tokens = MarkdownIt("commonmark").enable("table").parse(result.out)
    assert sum(1 for t in tokens if t.type == "table_open") == 2
    assert "| faq-anthropic-claude-3-5-sonnet | 60 |" in result.out
    bad = run("report", "faq-judged", str(root), "--endpoint", url, "--baseline", "nope",
              env=ENV)
    assert (bad.code, bad.err) == (1, (
        "Error: --baseline nope: not a member of EvaluationGroup/faq-judged; members: "
        "faq-openai-gpt-4o, faq-openai-gpt-4o-mini, faq-anthropic-claude-3-5-sonnet\n"))


SCORED_TASKS = ("tasks:\n  - task_type: chat_completion\n    alias: answer\n    configuration:\n"
                "      model: M\n      messages: [{role: user, content: item.q}]\n"
                "  - task_type: metric\n    alias: rouge\n    configuration: {type: rouge1, "
                "candidate: item.answer, reference: item.reference}\n")


def scored_group(project, platform, run, rows_a: str, rows_b: str, a_extra: str = ""):
    """Members a (openai/gpt-4o-mini) and b (x/y), each answering and scored by ROUGE-1,
    joined on id in group g; applied and finished. ``a_extra``: more fields for a."""
    root = project({"specs/a.yaml": (
        f"kind: Evaluation\nname: a\n{a_extra}data: {rows_a}\n"
        + SCORED_TASKS.replace("M", "openai/gpt-4o-mini")
        + f"---\nkind: Evaluation\nname: b\ndata: {rows_b}\n"
        + SCORED_TASKS.replace("M", "x/y")
        + "---\nkind: EvaluationGroup\nname: g\nmembers: [a, b]\nrow_identifier: id\n")})
    assert apply(run, root, platform.url).code == 0
    assert run("status", str(root), "--endpoint", platform.url, "--watch", "--interval",
               "0.05", env=ENV).code == 0
    return root


def test_rows_a_member_lacks_are_counted(project, platform, run) -> None:
    rows_a = "[" + ", ".join(f"{{id: r{i}, q: x, reference: word {i}}}" for i in range(6)) + "]"
    rows_b = "[" + ", ".join(f"{{id: r{i}, q: x, reference: word {i}}}" for i in range(2, 6)) + "]"
    root = scored_group(project, platform, run, rows_a, rows_b)
    document = json.loads(run("report", "g", str(root), "--endpoint", platform.url,
                              "--format", "json", env=ENV).out)
    assert document["rows"] == 6
    assert document["members"] == [{"name": "a", "missing_rows": 0, "status": "completed"},
                                   {"name": "b", "missing_rows": 2, "status": "completed"}]
    [score] = document["scores"]
    b = next(m for m in score["members"] if m["name"] == "b")
    assert b["n"] == 4 and b["vs_baseline"]["n"] == 4  # paired on the 4 shared rows
    assert b["rows_without_score"] == {"missing": 2, "failed": 0, "pending": 0, "unscored": 0}
    a = next(m for m in score["members"] if m["name"] == "a")
    assert (a["n"], a["common"]["n"], score["common_rows"]) == (6, 4, 4)  # ranked on 4 rows
    text = run("report", "g", str(root), "--endpoint", platform.url, env=ENV).out
    assert "b has no item for 2 of the 6 rows (left out of its figures)" in text
    nope = run("report", "g", str(root), "--endpoint", platform.url, "--cluster-by", "nope",
               env=ENV)
    assert (nope.code, nope.err) == (1, (
        "Error: cluster_by nope: 10 items of EvaluationGroup/g have no 'nope' column, so their "
        "rows cannot be clustered; choose a column every item has\n"))


def test_committed_report_schema_is_current(run) -> None:
    committed = (ROOT / "schemas" / "report.schema.json").read_text(encoding="utf-8")
    assert committed == report_schema_text(), (
        "schemas/report.schema.json is out of date: run "
        "'evalspec schema --report > schemas/report.schema.json'")
    assert run("schema", "--report").out == committed
    jsonschema.Draft202012Validator.check_schema(report_schema())


@pytest.mark.skipif(__import__("shutil").which("chromium") is None,
                    reason="needs Debian's chromium")
def test_html_report_renders_in_headless_chromium(scored, run, tmp_path) -> None:
    root, url = scored
    out = tmp_path / "report.html"
    result = run("report", "faq-judged", str(root), "--endpoint", url, "--format", "html",
                 "-o", str(out), env=ENV)
    assert result.err == f"Wrote the html report of EvaluationGroup/faq-judged to {out}.\n"
    page = out.read_text()
    assert "http" not in page.replace("https://", "").split("<body>")[0]  # nothing fetched
    assert page.count('aria-label="leaderboard ') == 2
    assert page.count('aria-label="differences ') == 4  # 2 scores x 2 members vs baseline
    png = screenshot(out, tmp_path, "1100,1500")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 40_000  # a page with charts


def test_check_holds_the_candidate_to_the_example_gates(scored, run) -> None:
    root, url = scored
    passed = run("check", str(root), "--endpoint", url, "--wait", "--interval", "0.05", env=ENV)
    assert passed.code == 0, passed.err
    assert passed.out.splitlines() == [
        "EvaluationGroup/faq-judged",
        "  held    judge no worse than faq-openai-gpt-4o-mini by more than 0.1 (alpha 0.05) "
        "for faq-openai-gpt-4o: faq-openai-gpt-4o +0.167 vs faq-openai-gpt-4o-mini on 60 "
        "paired rows, lower bound +0.052 (95% one-sided, clustered t) above -0.100 (the "
        "margin)",
        "  held    rouge min 0.7 for faq-openai-gpt-4o: faq-openai-gpt-4o averages 0.944 over "
        "60 rows",
        "  held    rouge at most 0 missing rows: faq-openai-gpt-4o lacks 0; "
        "faq-openai-gpt-4o-mini lacks 0; faq-anthropic-claude-3-5-sonnet lacks 0",
        "3 gates: 3 held, 0 failed."]
    worse = run("check", str(root), "--endpoint", url, "--var",
                "candidate=faq-anthropic-claude-3-5-sonnet", "--format", "json", env=ENV)
    assert worse.code == 1
    document = json.loads(worse.out)
    assert (document["held"], document["failed"]) == (1, 2)
    failed = [v for v in document["verdicts"] if not v["held"]]
    assert failed[0]["gate"] == ("judge no worse than faq-openai-gpt-4o-mini by more than 0.1 "
                                 "(alpha 0.05) for faq-anthropic-claude-3-5-sonnet")
    assert failed[0]["detail"] == (
        "faq-anthropic-claude-3-5-sonnet -0.225 vs faq-openai-gpt-4o-mini on 60 paired rows, "
        "lower bound -0.404 (95% one-sided, clustered t) is not above -0.100 (the margin); "
        "more rows would not show it: the difference itself (-0.225) is not above -0.100")
    assert failed[1]["detail"] == "faq-anthropic-claude-3-5-sonnet averages 0.663 < 0.7"
    comment = root / "check.md"
    assert run("check", str(root), "--endpoint", url, "--markdown", str(comment),
               env=ENV).code == 0
    text = comment.read_text()
    assert text.startswith("<!-- evalspec-check -->\n### evalspec check: 3 held, 0 failed\n")
    assert "### evalspec report for `EvaluationGroup/faq-judged`" in text


def test_check_waits_for_running_evaluations_and_logs_their_progress(workdir, serve,
                                                                      run) -> None:
    from evalspec.platform.scoring import parse_qualities

    server = serve(complete_after=3.0, model_quality=parse_qualities(QUALITIES.split(",")))
    root = workdir("judge-sweep")
    assert apply(run, root, server.url).code == 0
    result = run("check", str(root), "--endpoint", server.url, "--wait", "--interval",
                 "0.2", env=ENV)
    assert result.code == 0, result.err
    assert result.out.splitlines()[-1] == "3 gates: 3 held, 0 failed."
    log = result.err.splitlines()
    assert re.fullmatch(r"\d\d:\d\d:\d\d 3 evaluations: 3 running\.", log[0]), log
    names = ["faq-anthropic-claude-3-5-sonnet", "faq-openai-gpt-4o", "faq-openai-gpt-4o-mini"]
    assert sorted(line.split(":")[0].strip() for line in log[1:4]) == names
    assert all(re.fullmatch(r"  faq-[\w.-]+: running, \d+/60 items done \(0 failed\)", line)
               for line in log[1:4]), log
    assert len(log) > 4  # a later look logged what had moved


def test_check_without_gates_says_how_to_add_them(workdir, platform, run, tmp_path) -> None:
    comment = tmp_path / "check.md"
    result = run("check", str(workdir("sweep")), "--endpoint", platform.url, "--markdown",
                 str(comment), env=ENV)
    assert (result.code, result.err) == (0, "No gates: add 'gates:' to evalspec.yaml or to an "
                                            "EvaluationGroup (see 'evalspec check --help').\n")
    assert comment.read_text() == "<!-- evalspec-check -->\n### evalspec check: no gates\n"


def test_check_of_a_bad_spec_reports_it_as_validate_does(workdir, run) -> None:
    root = workdir("judge-sweep")
    spec = next((root / "specs").glob("*.yaml"))
    spec.write_text(spec.read_text() + "\nkind: Nonsense\n", encoding="utf-8")
    expected = run("validate", str(root))
    result = run("check", str(root), "--endpoint", "http://127.0.0.1:9", env=ENV)
    assert expected.code == 1 and expected.err
    assert (result.code, result.out, result.err) == (1, "", expected.err)


def test_check_refuses_to_judge_a_run_in_progress(workdir, serve, run) -> None:
    server = serve(complete_after=30.0)
    root = workdir("judge-sweep")
    assert apply(run, root, server.url).code == 0
    early = run("check", str(root), "--endpoint", server.url, env=ENV)
    partial = run("check", str(root), "--endpoint", server.url, "--allow-partial",
                  env=ENV)
    report = run("report", "faq-judged", str(root), "--endpoint", server.url, env=ENV)
    assert (early.code, early.out) == (1, "")
    assert early.err == (
        "Error: cannot judge the gates yet: evaluations still running: "
        "faq-openai-gpt-4o (running), faq-openai-gpt-4o-mini (running), "
        "faq-anthropic-claude-3-5-sonnet (running). Wait for them with 'evalspec check "
        "--wait' (or judge what is there with --allow-partial)\n")
    # Judged anyway, nothing holds that the data cannot support.
    assert partial.code == 1
    assert "  FAILED  rouge at most 0 missing rows: faq-openai-gpt-4o lacks a score for" in (
        partial.out)
    assert "faq-openai-gpt-4o is running, not finished: its figures are partial" in report.out


def test_a_failed_candidate_fails_its_gates(workdir, serve, run) -> None:
    server = serve(complete_after=0.1, fail_models=("anthropic/*",))
    root = workdir("judge-sweep")
    assert apply(run, root, server.url).code == 0
    result = run("check", str(root), "--endpoint", server.url, "--wait", "--interval",
                 "0.05", "--var", "candidate=faq-anthropic-claude-3-5-sonnet", env=ENV)
    report = json.loads(run("report", "faq-judged", str(root), "--endpoint", server.url,
                            "--format", "json", env=ENV).out)
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[1] == (
        "  FAILED  judge no worse than faq-openai-gpt-4o-mini by more than 0.1 (alpha 0.05) for "
        "faq-anthropic-claude-3-5-sonnet: faq-anthropic-claude-3-5-sonnet: only 0 rows with a "
        "score for both it and faq-openai-gpt-4o-mini (at least 10 needed to judge)")
    assert lines[2] == (
        "  FAILED  rouge min 0.7 for faq-anthropic-claude-3-5-sonnet: "
        "faq-anthropic-claude-3-5-sonnet: no mean over all 60 rows to judge: 60 rows without "
        "a score (failed 60)")
    assert lines[3] == (
        "  FAILED  rouge at most 0 missing rows: faq-anthropic-claude-3-5-sonnet lacks a score "
        "for 60 rows (failed 60)")
    assert lines[-1] == "3 gates: 0 held, 3 failed."
    claude = next(m for m in report["members"]
                  if m["name"] == "faq-anthropic-claude-3-5-sonnet")
    assert claude["status"] == "failed"


def test_local_results_do_not_change_after_they_finish(workdir, run, monkeypatch) -> None:
    root = workdir("judge-sweep")
    monkeypatch.setenv("EVALSPEC_LOCAL_MODEL_QUALITY", QUALITIES)
    assert run("apply", str(root), "--endpoint", "local", "--auto-approve").code == 0
    assert run("status", str(root), "--endpoint", "local", "--watch", "--interval",
               "0.2").code == 0

    def report() -> dict:
        result = run("report", "faq-judged", str(root), "--endpoint", "local", "--format",
                     "json")
        assert result.code == 0, result.err
        return json.loads(result.out)

    first = report()
    monkeypatch.delenv("EVALSPEC_LOCAL_MODEL_QUALITY")  # a new shell
    assert report() == first
    monkeypatch.setenv("EVALSPEC_LOCAL_MODEL_QUALITY", "anthropic/*=1.0,*=0.0")
    assert report() == first
    assert [m["name"] for m in first["scores"][1]["members"]][0] == "faq-openai-gpt-4o"


def test_html_report_content_without_a_browser(scored, run, tmp_path) -> None:
    """The page parsed: title, a section per score with its table rows, the leaderboards'
    bars and the methods, as data (the screenshot test needs Chromium; this does not)."""
    from html.parser import HTMLParser

    root, url = scored
    page = tmp_path / "report.html"
    assert run("report", "faq-judged", str(root), "--endpoint", url, "--format", "html",
               "-o", str(page), env=ENV).code == 0

    class Page(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.stack: list[str] = []
            self.text: dict[str, list[str]] = {}
            self.rows: list[list[str]] = []
            self.rects = 0

        def handle_starttag(self, tag, attrs) -> None:
            self.stack.append(tag)
            if tag == "tr":
                self.rows.append([])
            self.rects += tag == "rect"

        def handle_endtag(self, tag) -> None:
            while self.stack and self.stack.pop() != tag:
                pass

        def handle_data(self, data) -> None:
            if self.stack and data.strip():
                self.text.setdefault(self.stack[-1], []).append(data.strip())
                if self.stack[-1] == "td":
                    self.rows[-1].append(data.strip())

    parsed = Page()
    parsed.feed(page.read_text())
    assert parsed.text["title"] == ["evalspec report: EvaluationGroup/faq-judged"]
    assert parsed.text["h2"] == [
        "Verdict", "rouge (metric: rougeL)",
        "judge (auto_evaluation.guided_decoding: correct > partly correct > wrong)"]
    members = [row[0] for row in parsed.rows if row]
    assert members == ["faq-openai-gpt-4o", "faq-openai-gpt-4o-mini",
                       "faq-anthropic-claude-3-5-sonnet"] * 2
    best = next(row for row in parsed.rows if row and row[0] == "faq-openai-gpt-4o")
    assert best[1:4] == ["60", "0.944", "[0.900, 0.988]"]
    assert parsed.rects >= 6  # a bar per member per score
    assert any("McNemar" in text for text in parsed.text["p"])
    assert any("rows clustered by reference: 20 clusters" in text for text in parsed.text["p"])
    assert parsed.text["span"][:3] == ["ranks first", "other members", "the baseline"]  # legend
    histograms = page.read_text().split('aria-label="differences ')[1:]
    ranges = {re.findall(r">([-+][\d.]+)</text>", h)[-1] for h in histograms[:2]}
    assert len(ranges) == 1  # one x-range across a score's histograms


def test_report_by_a_column_repeats_the_comparison_per_value(project, platform, run) -> None:
    rows = "[" + ", ".join(
        f"{{id: r{i}, q: x, topic: {'billing' if i % 3 else 'account'}, "
        f"reference: word {i} more words}}" for i in range(24)) + "]"
    root = scored_group(project, platform, run, rows, rows)
    result = run("report", "g", str(root), "--endpoint", platform.url, "--by", "topic",
                 "--format", "json", env=ENV)
    assert result.code == 0, result.err
    document = json.loads(result.out)
    jsonschema.validate(document, report_schema())
    by = document["by"]
    assert (by["column"], [c["value"] for c in by["categories"]]) == ("topic",
                                                                       ["account", "billing"])
    assert [c["report"]["rows"] for c in by["categories"]] == [8, 16]
    assert by["family"].startswith("p (Holm) corrects within each category")
    text = run("report", "g", str(root), "--endpoint", platform.url, "--by", "topic",
               env=ENV).out.splitlines()
    assert "== topic = account: 8 rows ==" in text and "== topic = billing: 16 rows ==" in text
    html = run("report", "g", str(root), "--endpoint", platform.url, "--by", "topic",
               "--format", "html", env=ENV)
    assert (html.code, html.err) == (1, "Error: --by is not in the HTML report yet: use "
                                        "--format text, markdown or json\n")


def test_repeated_rows_are_one_row_each_with_their_variance(project, platform, run) -> None:
    rows = "[" + ", ".join(f"{{id: r{i}, q: x, reference: word {i} more words}}"
                           for i in range(12)) + "]"
    root = scored_group(project, platform, run, rows, rows, a_extra="repeats: 3\n")
    assert "# Evaluation/a will be created" not in plan(run, root, platform.url).out
    [evaluation] = [e for e in httpx.get(f"{platform.url}/v5/evaluations",
                                         headers={"x-api-key": "k"}).json()["items"]
                    if e["name"] == "a"]
    items = httpx.get(f"{platform.url}/v5/evaluation-items", headers={"x-api-key": "k"},
                      params={"evaluation_id": evaluation["id"], "limit": 100}).json()["items"]
    assert len(items) == 36
    assert [(i["data"]["evalspec_repeat"], i["data"]["evalspec_row"]) for i in items[:4]] == [
        (0, '["r0", 0]'), (1, '["r0", 1]'), (2, '["r0", 2]'), (0, '["r1", 0]')]
    group = httpx.get(f"{platform.url}/v5/evaluation-groups", headers={"x-api-key": "k"},
                      params={"views": "row_identifiers"}).json()["items"][0]
    assert sorted(r["column_name"] for r in group["row_identifiers"]) == ["evalspec_row", "id"]
    document = json.loads(run("report", "g", str(root), "--endpoint", platform.url, "--format",
                              "json", env=ENV).out)
    jsonschema.validate(document, report_schema())
    assert document["rows"] == 12
    [score] = document["scores"]
    a = next(m for m in score["members"] if m["name"] == "a")
    assert (a["n"], a["repeats"]["copies"], a["vs_baseline"]["n"] if "vs_baseline" in a
            else score["common_rows"]) == (12, 3, 12)
    assert a["repeats"]["variance_within_rows"] >= 0
    assert "a: 3 copies per row; variance within rows" in run(
        "report", "g", str(root), "--endpoint", platform.url, env=ENV).out
    assert plan(run, root, platform.url).out.startswith("No changes.")


def test_a_repeated_evaluation_states_every_copy_in_its_workload(project, run) -> None:
    rows = "[" + ", ".join(f"{{id: r{i}, q: x, reference: w}}" for i in range(12)) + "]"
    root = project({"specs/a.yaml": f"kind: Evaluation\nname: a\nrepeats: 3\ndata: {rows}\n"
                    + SCORED_TASKS.replace("M", "openai/gpt-4o")})
    planned = run("plan", str(root), "--endpoint", "local")
    assert "# Evaluation/a will be created: starts 72 task executions over 1 model" in (
        planned.out)  # 12 rows x 3 copies x 2 tasks


def test_repeats_need_rows_in_data(project, run) -> None:
    root = project({"specs/a.yaml": (
        "kind: Dataset\nname: d\nitems: [{q: 1}]\n---\nkind: Evaluation\nname: e\nrepeats: 2\n"
        "dataset: d\ntasks:\n  - task_type: chat_completion\n    configuration:\n"
        "      model: openai/gpt-4o\n      messages: [{role: user, content: item.q}]\n")})
    result = run("validate", str(root), cwd=root)
    assert (result.code, result.err.splitlines()[0]) == (1, (
        "specs/a.yaml:5:1: repeats needs rows in 'data': a dataset's items are sent once"))
