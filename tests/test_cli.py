from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest

from tests.conftest import EVALUATION, EXAMPLES


def test_no_project_found(run, tmp_path) -> None:
    result = run("validate", cwd=tmp_path)
    assert result.code == 1
    assert result.err == (
        f"Error: no evalspec.yaml in {tmp_path.resolve()} or any parent directory; run "
        "'evalspec init' to create one, or pass the project directory\n"
    )


def test_an_empty_project_file_says_what_it_needs(run, tmp_path) -> None:
    for text in ("", "# nothing yet\n", "---\n"):
        (tmp_path / "evalspec.yaml").write_text(text)
        result = run("validate", cwd=tmp_path)
        assert (result.code, result.err) == (1, (
            "evalspec.yaml:1:1: evalspec.yaml is empty; it needs at least the project's name, "
            "for example 'project: my-evals'\nFound 1 error in 1 file.\n"))


def test_project_found_from_a_subdirectory_and_from_its_file(run) -> None:
    assert run("validate", cwd=EXAMPLES / "sweep" / "specs").code == 0
    assert run("validate", str(EXAMPLES / "sweep" / "evalspec.yaml")).code == 0


def test_missing_path(run, tmp_path) -> None:
    result = run("validate", str(tmp_path / "nope"))
    expected = f"Error: {tmp_path / 'nope'}: no such file or directory\n"
    assert (result.code, result.err) == (1, expected)


def test_usage_errors_exit_1(run) -> None:
    result = run("validate", "--format", "xml", str(EXAMPLES / "sweep"))
    assert result.code == 1
    assert ("Invalid value for '--format': 'xml' is not one of 'text', 'json', 'github'."
            in result.err)


def test_json_summary_on_success(run) -> None:
    result = run("validate", str(EXAMPLES / "sweep"), "--format", "json")
    doc = json.loads(result.out)
    assert result.code == 0 and doc["valid"] is True and doc["errors"] == []
    assert doc["summary"] == {"project": "support-sweep", "datasets": 1, "evaluations": 6,
                              "evaluation_specs": 1, "groups": 1, "questions": 0,
                              "rubrics": 0}


def test_warnings_do_not_fail(project, run) -> None:
    spec = EVALUATION.replace("name: ev\n", "name: ev-${{ matrix.m | slug }}\nmatrix:\n"
                              "  m: [a/b]\n  exclude: [{m: z/z}]\n")
    config = "project: demo\npolicy:\n  required_tags: ['team:*']\n" \
             "  enforcement: {required_tags: advisory}\n"
    root = project({"specs/a.yaml": spec}, config)
    result = run("validate", cwd=root)
    assert result.code == 0
    assert result.err.splitlines() == [
        "specs/a.yaml:1:1: $.tags: warning: Evaluation/ev-a-b has no tag matching 'team:*' "
        "(policy.required_tags)",
        "specs/a.yaml:5:13: $.matrix.exclude[0]: warning: this exclude entry matches no "
        "combination",
    ]
    assert result.out == "Valid: 0 datasets, 1 evaluation from 1 spec, 0 groups.\n"


def test_internal_errors_are_one_line_unless_debug(run, monkeypatch) -> None:
    from evalspec.cli import spec_commands

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(spec_commands, "build", broken)
    result = run("validate", str(EXAMPLES / "sweep"))
    assert result.code == 1
    assert result.err == (
        "Error: internal error: RuntimeError: boom\n"
        "This is a bug in evalspec. Rerun with --debug for a traceback and report it.\n"
    )
    result = run("--debug", "validate", str(EXAMPLES / "sweep"))
    assert result.code == 1
    assert result.err.startswith("Traceback (most recent call last):")
    assert 'raise RuntimeError("boom")' in result.err


def test_errors_show_a_traceback_only_with_debug(workdir, run, monkeypatch) -> None:
    monkeypatch.delenv("SGP_API_KEY", raising=False)
    root = workdir("quickstart")
    message = ("Error: SGP_API_KEY is not set; it is needed for http://127.0.0.1:9 "
               "(endpoint from --endpoint)\n")
    plain = run("plan", str(root), "--endpoint", "http://127.0.0.1:9")
    assert (plain.code, plain.out, plain.err) == (1, "", message)
    debug = run("--debug", "plan", str(root), "--endpoint", "http://127.0.0.1:9")
    assert debug.code == 1
    assert debug.err.startswith("Traceback (most recent call last):")
    assert debug.err.endswith("\nevalspec.errors.UsageError: " + message[len("Error: "):]
                              + message)


def test_debug_shows_each_request_retried(workdir, run, tmp_path, monkeypatch) -> None:
    """With --debug a request the platform failed is named on standard error as it is
    retried; without it, the same run says nothing about it. (Seed 1237 fails the first
    request that reaches the platform with a 503 and none of the next 29.)"""
    import re

    from evalspec.platform.api import Settings
    from evalspec.platform.faults import Faults
    from evalspec.platform.server import start_background

    for name, value in {"SGP_API_KEY": "k", "SGP_ACCOUNT_ID": "default"}.items():
        monkeypatch.setenv(name, value)
    root = workdir("quickstart")
    lines = {}
    for flag in ("--debug", None):
        server = start_background(Settings(db=tmp_path / f"{flag}.db",
                                           faults=Faults(fail_rate=0.2, seed=1237)))
        try:
            result = run(*filter(None, [flag, "plan", str(root), "--endpoint", server.url]))
        finally:
            server.stop()
        assert result.code == 0, result.err
        lines[flag] = [line for line in result.err.splitlines() if "retrying" in line]
    [line] = lines["--debug"]
    assert re.fullmatch(r"debug: retrying GET /v5/[a-z-]+ in \d+\.\d\ds \(attempt 1\): "
                        r"GET /v5/[a-z-]+ failed with 503: injected failure", line), line
    assert lines[None] == []


@pytest.mark.parametrize("raised, err", [
    (KeyboardInterrupt, "\nInterrupted.\n"),  # after the ^C the terminal shows: a new line
    (click.exceptions.Abort, "Interrupted.\n"),
])
def test_an_interrupt_is_one_line_and_exit_code_130(run, monkeypatch, raised, err) -> None:
    from evalspec.cli import spec_commands

    def interrupted(*args, **kwargs):
        raise raised()

    monkeypatch.setattr(spec_commands, "build", interrupted)
    result = run("--debug", "validate", str(EXAMPLES / "sweep"))
    assert (result.code, result.out, result.err) == (130, "", err)


def test_spec_errors_never_show_a_traceback_even_with_debug(project, run) -> None:
    root = project({"specs/a.yaml": "kind: [\n"})
    result = run("--debug", "validate", cwd=root)
    assert result.code == 1 and "Traceback" not in result.err


def test_every_command_help_has_an_example(run) -> None:
    for command in ("validate", "render", "schema"):
        result = run(command, "--help")
        assert result.code == 0
        assert "Example" in result.out, command


def test_python_dash_m_and_version() -> None:
    out = subprocess.run([sys.executable, "-m", "evalspec", "--version"],
                         capture_output=True, text=True, check=True)
    assert out.stdout == "evalspec, version 0.1.0\n"


def test_empty_project_is_valid(project, run) -> None:
    root = project({})
    result = run("validate", cwd=root)
    summary = "Valid: 0 datasets, 0 evaluations from 0 specs, 0 groups.\n"
    assert (result.code, result.out) == (0, summary)
    assert result.err == ("evalspec.yaml:1:1: $.specs: warning: no spec files match "
                          "specs/**/*.yaml, specs/**/*.yml; the project defines nothing\n")


def test_broken_file_does_not_cause_false_reference_errors(project, run) -> None:
    spec = EVALUATION.replace("data: [{q: a}]", "dataset: d")
    root = project({"specs/a.yaml": spec, "specs/b.yaml": "kind: Dataset\nname: d\nitems: [\n"})
    result = run("validate", cwd=root)
    assert result.err.splitlines() == [
        "specs/b.yaml:4:1: invalid YAML: did not find expected node content "
        "(while parsing a flow node)",
        "Found 1 error in 1 file.",
    ]


def test_the_program_delivers_all_its_output_and_exit_code_before_its_hard_exit(workdir,
                                                                                run) -> None:
    """Run as a program, evalspec leaves with os._exit (no teardown): everything written to a
    pipe still arrives, the exit code is the command's, and a reader that goes away early is
    no error message."""
    root = workdir("sweep")
    for args in (["render", str(root), "--format", "json"], ["schema"]):
        expected = run(*args)
        child = subprocess.run([sys.executable, "-m", "evalspec", *args], capture_output=True,
                               text=True)
        assert (child.returncode, child.stdout, child.stderr) == (0, expected.out, expected.err)
    assert len(child.stdout) > 65536  # more than a pipe holds at once: flushed, not lost
    (root / "specs" / "broken.yaml").write_text("kind: Evaluation\nname: [\n", encoding="utf-8")
    bad = subprocess.run([sys.executable, "-m", "evalspec", "validate", str(root)],
                         capture_output=True, text=True)
    assert (bad.returncode, bad.stderr) == (1, run("validate", str(root)).err)
    early = subprocess.run(f"{sys.executable} -m evalspec schema | head -c 10", shell=True,
                           capture_output=True, text=True)
    assert (early.stdout, early.stderr) == (expected.out[:10], "")


def test_a_profiler_or_coverage_still_gets_its_results_written_at_exit(tmp_path) -> None:
    """They write at the interpreter's exit, so under them evalspec exits the ordinary way."""
    profile = tmp_path / "evalspec.prof"
    subprocess.run([sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "evalspec",
                    "schema"], capture_output=True, check=True)
    import pstats

    assert pstats.Stats(str(profile)).total_calls > 0


def test_no_help_shows_a_literal_backslash_b(run) -> None:
    """click keeps a paragraph as written after a \\b line (the backspace character); written
    as backslash and b it shows literally and the examples run together."""
    from evalspec.cli import cli

    def commands(group, prefix=()):
        for name, command in group.commands.items():
            yield (*prefix, name)
            if hasattr(command, "commands"):
                yield from commands(command, (*prefix, name))

    for path in commands(cli):
        shown = run(*path, "--help").out
        assert "\\b" not in shown, path


def test_problems_as_github_annotations(project, run, monkeypatch) -> None:
    """validate and plan --format github: one workflow command per problem, on the file and
    line of the diff; text escaped as the runner reads it (%, newlines; : and , in the
    file property); paths relative to GITHUB_WORKSPACE when the project is inside it."""
    root = project({"specs/a,b.yaml": "kind: Evaluation\nname: e\ndata: [{q: 1}]\ntasks:\n"
                    "  - task_type: chat_completion\n    configuration:\n"
                    "      model: openai/gpt-4o\n      messages: [{role: user, content: hi}]\n"
                    "      tempreature: 0.5\n"})
    result = run("validate", "--format", "github", cwd=root)
    assert result.code == 1
    assert result.out == (
        "::error file=specs/a%2Cb.yaml,line=9,col=7,title=evalspec::"
        "$.tasks[0].configuration.tempreature: unknown key 'tempreature' (did you mean "
        "'temperature'?)\nFound 1 error in 1 file.\n")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(root.parent))
    planned = run("plan", "--format", "github", "--endpoint", "local", cwd=root)
    assert planned.code == 1
    assert planned.out.startswith(f"::error file={root.name}/specs/a%2Cb.yaml,line=9,col=7,")
