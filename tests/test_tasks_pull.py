"""evalspec tasks pull against the local platform's v2 Tasks API over a real socket."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from evalspec.platform.sample_tasks import sample_tasks

ENV = {"SCALE_API_KEY": "live_test_key"}


@pytest.fixture
def v2(tmp_path):
    """Start a platform serving ``count`` sample tasks; returns (url, tasks as served)."""
    from evalspec.platform.api import Settings
    from evalspec.platform.faults import Faults
    from evalspec.platform.server import start_background

    servers = []

    def start(count: int, latency_ms: float = 0) -> tuple[str, list[dict]]:
        path = tmp_path / f"tasks-{len(servers)}.jsonl"
        tasks = list(sample_tasks(count))
        path.write_text("".join(json.dumps(t) + "\n" for t in tasks))
        server = start_background(Settings(db=tmp_path / f"p{len(servers)}.db",
                                           tasks_file=path,
                                           faults=Faults(latency_ms=latency_ms)))
        servers.append(server)
        return server.url, tasks

    yield start
    for server in servers:
        server.stop()


def ids(path) -> list[str]:
    return [json.loads(line)["task_id"] for line in path.read_text().splitlines()]


def test_pull_writes_every_matching_task_as_served(v2, run, tmp_path) -> None:
    url, tasks = v2(250)
    out = tmp_path / "out.jsonl"
    result = run("tasks", "pull", "--project", "Support FAQ review", "--status", "completed",
                 "-o", str(out), "--endpoint", url, env=ENV)
    assert result.code == 0, result.err
    assert re.fullmatch(rf"Pulled 225 tasks in 3 pages to {re.escape(str(out))} \(\d+\.\d s\)\.\n",
                        result.err)
    completed = [t for t in tasks if t["status"] == "completed"]
    assert ids(out) == [t["task_id"] for t in completed]
    first = json.loads(out.read_text().splitlines()[0])
    assert (first["project"], first["batch"]) == ("project_1", "batch_1")  # not expanded
    assert first["threads"][0]["turns"][0]["messages"][1]["annotations"][0] == {
        **completed[0]["threads"][0]["turns"][0]["messages"][1]["annotations"][0],
        "id": "thread_0.turn_0.m1.annotation0", "type": "integer"}
    # The model behind each response is asked for (opts=model_parameters): without it the
    # API leaves model_parameters out and a summary could not say which model was rated.
    served = completed[0]["threads"][0]["turns"][0]["messages"][1]["model_parameters"]
    assert first["threads"][0]["turns"][0]["messages"][1]["model_parameters"] == served
    assert not (tmp_path / "out.jsonl.pull-state.json").exists()
    assert "live_test_key" not in result.out + result.err


def test_filters_are_sent_and_checked(v2, run, tmp_path) -> None:
    url, tasks = v2(120)
    out = tmp_path / "window.jsonl"
    result = run("tasks", "pull", "--batch-id", "batch_1", "--completed-after",
                 "2025-01-01T20:31:00Z", "--completed-before", "2025-01-01T21:00:00Z",
                 "-o", str(out), "--endpoint", url, env=ENV)
    assert result.code == 0, result.err
    assert ids(out) == [f"task_{i:06d}" for i in range(32, 60) if i % 10 != 9]
    bad = run("tasks", "pull", "--project", "p", "--completed-after", "yesterday", "-o",
              str(out), "--endpoint", url, env=ENV)
    assert bad.code == 1 and ("Invalid value for '--completed-after': 'yesterday' is not an "
                              "ISO 8601 date-time, for example 2025-01-31 or "
                              "2025-01-31T12:00:00Z") in bad.err
    unsaid = run("tasks", "pull", "-o", str(out), "--endpoint", url, env=ENV)
    assert unsaid.err == ("Error: say which tasks: --project NAME, --project-id ID, --batch "
                          "NAME or --batch-id ID\n")
    both = run("tasks", "pull", "--project", "a", "--project-id", "b", "-o", str(out),
               "--endpoint", url, env=ENV)
    assert both.err == ("Error: give a project by name or by id, and a batch by name or by "
                        "id, not both\n")


def test_an_existing_file_is_never_overwritten_unasked(v2, run, tmp_path) -> None:
    url, _ = v2(5)
    out = tmp_path / "out.jsonl"
    out.write_text("precious\n")
    args = ("tasks", "pull", "--project", "Support FAQ review", "-o", str(out), "--endpoint",
            url)
    refused = run(*args, env=ENV)
    assert (refused.code, refused.err) == (1, f"Error: {out} exists; pass --force to "
                                              "overwrite it\n")
    assert out.read_text() == "precious\n"
    assert run(*args, "--force", env=ENV).code == 0
    assert len(ids(out)) == 5
    nothing = run(*args, "--resume", env=ENV)
    assert nothing.err == (f"Error: nothing to resume: {out} has no interrupted pull "
                           "(out.jsonl.pull-state.json is missing)\n")


def test_the_v2_key_is_required_and_never_shown(v2, run, tmp_path, monkeypatch) -> None:
    url, _ = v2(5)
    monkeypatch.delenv("SCALE_API_KEY", raising=False)
    result = run("tasks", "pull", "--project", "x", "-o", str(tmp_path / "o.jsonl"),
                 "--endpoint", url)
    assert (result.code, result.err) == (1, "Error: SCALE_API_KEY is not set; the v2 Tasks "
                                            "API needs it\n")
    for name in ("EVALSPEC_TASKS_ENDPOINT", "EVALSPEC_ENDPOINT", "SGP_CLIENT_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    production = run("tasks", "pull", "--project", "x", "-o", str(tmp_path / "o.jsonl"),
                      cwd=tmp_path)  # no endpoint: Scale's own host, which needs the key too
    assert (production.code, production.err) == (1, "Error: SCALE_API_KEY is not set; the v2 "
                                                    "Tasks API needs it\n")


def _start_child(url: str, out, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "evalspec", "tasks", "pull", "--project", "Support FAQ review",
         "-o", str(out), "--endpoint", url, *extra], env={**os.environ, **ENV},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_lines(out, count: int, child: subprocess.Popen) -> None:
    for _ in range(600):
        if out.exists() and out.read_bytes().count(b"\n") >= count:
            return
        assert child.poll() is None, child.communicate()
        time.sleep(0.01)
    raise AssertionError("the pull wrote nothing")


def test_a_killed_pull_resumes_with_no_duplicates_and_no_gaps(v2, run, tmp_path) -> None:
    url, tasks = v2(2000, latency_ms=40)
    out = tmp_path / "out.jsonl"
    child = _start_child(url, out)
    _wait_for_lines(out, 300, child)
    child.kill()  # no chance to tidy up
    child.communicate()
    with out.open("ab") as fh:
        fh.write(b'{"task_id": "task_9999')  # a page that was being written
    resumed = run("tasks", "pull", "--project", "Support FAQ review", "-o", str(out),
                  "--endpoint", url, "--resume", env=ENV)
    assert resumed.code == 0, resumed.err
    assert ids(out) == [t["task_id"] for t in tasks]
    assert re.fullmatch(r"Pulled 2,000 tasks in 20 pages to .*\n", resumed.err)


def test_ctrl_c_says_how_to_continue(v2, run, tmp_path) -> None:
    url, tasks = v2(2000, latency_ms=40)
    out = tmp_path / "out.jsonl"
    child = _start_child(url, out)
    _wait_for_lines(out, 200, child)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=30)
    assert child.returncode == 130
    done = re.fullmatch(rf"Interrupted: ([\d,]+) tasks are in {re.escape(str(out))}\. Continue "
                        r"with the same command and --resume\.\n", err)
    assert done and int(done[1].replace(",", "")) % 100 == 0
    other = run("tasks", "pull", "--project", "Support FAQ review", "--status", "completed",
                "-o", str(out), "--endpoint", url, "--resume", env=ENV)
    assert other.err == (f"Error: cannot resume: {out} was pulled with project_name=Support "
                         "FAQ review, not project_name=Support FAQ review status=completed\n")
    fresh = run("tasks", "pull", "--project", "Support FAQ review", "-o", str(out),
                "--endpoint", url, env=ENV)
    assert fresh.err == (f"Error: {out} is an interrupted pull: continue it with --resume, or "
                         "start over with --force\n")
    resumed = run("tasks", "pull", "--project", "Support FAQ review", "-o", str(out),
                  "--endpoint", url, "--resume", env=ENV)
    assert resumed.code == 0, resumed.err
    assert ids(out) == [t["task_id"] for t in tasks]


def test_a_terminal_sees_a_progress_line(v2, terminal, tmp_path) -> None:
    url, _ = v2(150)
    out = tmp_path / "out.jsonl"
    result = terminal("tasks", "pull", "--project", "Support FAQ review", "-o", str(out),
                      "--endpoint", url, cwd=tmp_path, env=ENV)
    assert result.code == 0, result.screen
    assert re.search(r"\r\x1b\[KPulled 100 tasks in 1 page \(\d[\d,]* tasks/s\)", result.screen)
    assert re.search(r"\r\x1b\[KPulled 150 tasks in 2 pages \(\d[\d,]* tasks/s\)", result.screen)
    assert re.search(rf"\r\x1b\[KPulled 150 tasks in 2 pages to {re.escape(str(out))} "
                     r"\(\d+\.\d s\)\.\n$", result.screen)


def test_the_emulator_serves_sample_tasks_to_try_things(tmp_path, run) -> None:
    from evalspec.platform.api import Settings
    from evalspec.platform.server import start_background

    server = start_background(Settings(db=tmp_path / "s.db", sample_tasks=30))
    try:
        out = tmp_path / "tasks.jsonl"
        result = run("tasks", "pull", "--project", "Support FAQ review", "--status",
                     "completed", "-o", str(out), "--endpoint", server.url, env=ENV)
        assert result.code == 0, result.err
        assert ids(out) == [f"task_{i:06d}" for i in range(30) if i % 10 != 9]
    finally:
        server.stop()


def test_the_embedded_platform_serves_the_projects_own_tasks_file(tmp_path, run,
                                                                  monkeypatch) -> None:
    """With ``--endpoint local`` the v2 tasks come from ``.evalspec/tasks.jsonl`` beside the
    local database, and no Scale key is needed; a bad model-quality setting for the embedded
    platform is named, not a traceback."""
    monkeypatch.delenv("SCALE_API_KEY", raising=False)
    tasks = list(sample_tasks(12))
    (tmp_path / ".evalspec").mkdir()
    (tmp_path / ".evalspec" / "tasks.jsonl").write_text(
        "".join(json.dumps(t) + "\n" for t in tasks))
    out = tmp_path / "pulled.jsonl"
    result = run("tasks", "pull", "--project", "Support FAQ review", "-o", str(out),
                 "--endpoint", "local", cwd=tmp_path)
    assert result.code == 0, result.err
    assert result.err.startswith("Using the embedded local platform (v2 tasks from "
                                 ".evalspec/tasks.jsonl).\nPulled 12 tasks in 1 page")
    assert ids(out) == [t["task_id"] for t in tasks]
    out.unlink()
    bad = run("tasks", "pull", "--project", "Support FAQ review", "-o", str(out),
              "--endpoint", "local", cwd=tmp_path,
              env={"EVALSPEC_LOCAL_MODEL_QUALITY": "openai/*=0.8,gpt=best"})
    assert (bad.code, bad.err) == (1, "Using the embedded local platform (v2 tasks from "
                                      ".evalspec/tasks.jsonl).\n"
                                      "Error: EVALSPEC_LOCAL_MODEL_QUALITY: 'gpt=best': "
                                      "expected PATTERN=Q with Q from 0 to 1, for example "
                                      "'openai/*=0.8'\n")
    assert not out.exists()


def test_a_refused_key_leaves_nothing_behind(tmp_path, run) -> None:
    from evalspec.platform.api import Settings
    from evalspec.platform.server import start_background

    server = start_background(Settings(db=tmp_path / "k.db", api_keys={"good": "acme"},
                                       sample_tasks=5))
    try:
        out = tmp_path / "tasks.jsonl"
        result = run("tasks", "pull", "--project", "Support FAQ review", "-o", str(out),
                     "--endpoint", server.url, env={"SCALE_API_KEY": "wrong-key-123"})
        assert (result.code, result.err) == (1, "Error: GET /v2/tasks failed with 401: "
                                                "invalid API key (check SCALE_API_KEY)\n")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["k.db", "k.db-shm", "k.db-wal"]
    finally:
        server.stop()


@pytest.mark.parametrize("given, sent", [
    ("2025-01-01", "2025-01-01T00:00:00Z"),
    ("2025-01-31T12:00:00Z", "2025-01-31T12:00:00Z"),
    ("2025-01-31T12:00:00+02:00", "2025-01-31T10:00:00Z"),
    ("2025-01-31T12:00:00", "2025-01-31T12:00:00Z"),
])
def test_completed_filters_are_sent_as_iso_8601_date_times(given: str, sent: str) -> None:
    # The v2 API documents completed_after/completed_before as date-times, not dates.
    from evalspec.cli.tasks_commands import _timestamp

    assert _timestamp(None, None, given) == sent  # type: ignore[arg-type]


def test_a_server_lost_mid_pull_keeps_what_arrived_and_resumes(tmp_path, run) -> None:
    from evalspec.platform.api import Settings
    from evalspec.platform.faults import Faults
    from evalspec.platform.server import start_background

    tasks = list(sample_tasks(1500))
    source = tmp_path / "tasks.jsonl"
    source.write_text("".join(json.dumps(t) + "\n" for t in tasks))
    server = start_background(Settings(db=tmp_path / "a.db", tasks_file=source,
                                       faults=Faults(latency_ms=40)))
    out = tmp_path / "out.jsonl"
    child = _start_child(server.url, out)
    _wait_for_lines(out, 300, child)
    server.stop()  # the API goes away mid-pull: retries run out, the pull stops cleanly
    _, err = child.communicate(timeout=120)
    assert child.returncode == 1
    lines = err.strip().splitlines()
    assert lines[0].startswith("Error: GET /v2/tasks")
    assert re.fullmatch(r"The pull stopped: [\d,]+ tasks are in .*out\.jsonl\. Continue with the "
                        r"same command and --resume\.", lines[-1])
    kept = ids(out)
    assert kept == [t["task_id"] for t in tasks[:len(kept)]] and len(kept) >= 300
    again = start_background(Settings(db=tmp_path / "b.db", tasks_file=source))
    try:
        resumed = run("tasks", "pull", "--project", "Support FAQ review", "-o", str(out),
                      "--endpoint", again.url, "--resume", env=ENV)
        assert resumed.code == 0, resumed.err
        assert ids(out) == [t["task_id"] for t in tasks]
    finally:
        again.stop()


def test_a_damaged_state_file_is_named_not_a_traceback(v2, run, tmp_path) -> None:
    url, _ = v2(10)
    out = tmp_path / "out.jsonl"
    out.write_text("")
    (tmp_path / "out.jsonl.pull-state.json").write_text("{not json")
    result = run("tasks", "pull", "--project", "Support FAQ review", "-o", str(out),
                 "--endpoint", url, "--resume", env=ENV)
    assert result.code == 1 and "internal error" not in result.err
    assert result.err.startswith(f"Error: {tmp_path / 'out.jsonl.pull-state.json'}: cannot read "
                                 "the pull state: ")


@pytest.mark.parametrize(("state", "damage"), [
    ([1, 2], "expected a JSON object, found list"),
    ({"query": {"project": "Support FAQ review"}, "offset": -1},
     "offset must be a whole number of 0 or more, found -1"),
    ({"query": {"project": "Support FAQ review"}, "offset": "5"},
     'offset must be a whole number of 0 or more, found "5"'),
    ({"query": {"project": "Support FAQ review"}, "pages": True},
     "pages must be a whole number of 0 or more, found true"),
    ({"query": ["project"]}, "query must be an object of strings"),
    ({"query": {}, "next_token": 5}, "next_token must be a string or null"),
    ({"query": {}, "extra": 1}, "unknown field 'extra'"),
])
def test_a_state_file_of_the_wrong_shape_is_refused_with_what_is_wrong(v2, run, tmp_path,
                                                                       state, damage) -> None:
    url, _ = v2(10)
    out = tmp_path / "out.jsonl"
    out.write_text("kept\n")
    path = tmp_path / "out.jsonl.pull-state.json"
    path.write_text(json.dumps(state))
    result = run("tasks", "pull", "--project", "Support FAQ review", "-o", str(out),
                 "--endpoint", url, "--resume", env=ENV)
    assert (result.code, result.err) == (1, (
        f"Error: {path}: cannot read the pull state: {damage}; pull again without --resume "
        "(and --force)\n"))
    assert out.read_text() == "kept\n"


def test_ctrl_c_before_the_first_page_leaves_nothing_behind(v2, tmp_path) -> None:
    url, _ = v2(50, latency_ms=3000)  # the first page takes 3 s to come
    out = tmp_path / "out.jsonl"
    child = _start_child(url, out)
    for _ in range(500):  # wait until the pull has started (its state file is written)
        if (tmp_path / "out.jsonl.pull-state.json").exists() or child.poll() is not None:
            break
        time.sleep(0.01)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=30)
    assert (child.returncode, err) == (130, "Interrupted before the first page; nothing was "
                                            "written.\n")
    assert not out.exists() and not (tmp_path / "out.jsonl.pull-state.json").exists()
