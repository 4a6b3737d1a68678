"""The invalid-project corpus: each directory under corpus/invalid is a project with one or
more mistakes; expected.txt is exactly what ``evalspec validate`` prints, then its exit code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import EVALUATION

CORPUS = Path(__file__).parent / "corpus" / "invalid"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
LOCATED = re.compile(r"^[^\s:]+:\d+:\d+: (\$[^ ]*: )?\S")


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES)
def test_invalid_project(case: str, run) -> None:
    expected = (CORPUS / case / "expected.txt").read_text(encoding="utf-8")
    result = run("validate", cwd=CORPUS / case)
    assert f"{result.out}{result.err}exit {result.code}\n" == expected
    assert result.code == 1
    problem_lines = result.err.splitlines()[:-1]
    assert problem_lines and all(LOCATED.match(line) for line in problem_lines)


def test_json_output_lists_the_same_problems(run) -> None:
    result = run("validate", "--format", "json", cwd=CORPUS / "many-problems-sorted")
    assert result.code == 1
    import json

    doc = json.loads(result.out)
    assert doc["valid"] is False
    assert [(e["file"], e["line"], e["column"], e["path"]) for e in doc["errors"]] == [
        ("specs/a.yaml", 3, 1, "$.nope"),
        ("specs/a.yaml", 9, 25, "$.tasks[0].configuration.messages[0].role"),
        ("specs/b.yaml", 7, 14, "$.tasks[0].configuration.model"),
    ]


# Cases that cannot live as plain files in git: bad bytes, links, sizes.

def test_spec_file_not_utf8(project, run) -> None:
    root = project({"specs/a.yaml": b"kind: Evaluation\nname: caf\xe9\n"})
    result = run("validate", cwd=root)
    assert result.err.splitlines()[0] == (
        "specs/a.yaml:2:10: file is not valid UTF-8 (byte 0xe9); save it as UTF-8"
    )
    assert result.code == 1


def test_data_file_not_utf8(project, run) -> None:
    spec = EVALUATION.replace("data: [{q: a}]", "data: file://../data/rows.jsonl")
    root = project({"specs/a.yaml": spec, "data/rows.jsonl": b'{"q": "a"}\n{"q": "\xff"}\n'})
    result = run("validate", cwd=root)
    assert result.err.splitlines()[0] == (
        "data/rows.jsonl:2:8: $.data: not valid UTF-8 (byte 0xff)"
    )


def test_symlink_out_of_the_root_is_refused(project, run, tmp_path_factory) -> None:
    outside = tmp_path_factory.mktemp("outside") / "secret.txt"
    outside.write_text("do not read me")
    spec = EVALUATION.replace("content: item.q", "content: file://../prompts/p.txt")
    root = project({"specs/a.yaml": spec})
    (root / "prompts").mkdir()
    (root / "prompts" / "p.txt").symlink_to(outside)
    result = run("validate", cwd=root)
    assert result.err.splitlines()[0] == (
        "specs/a.yaml:8:40: $.tasks[0].configuration.messages[0].content: "
        "'file://../prompts/p.txt' points outside the project root"
    )
    assert "do not read me" not in result.out + result.err


def test_oversized_spec_file(project, run, monkeypatch) -> None:
    from evalspec.spec import yamlload

    monkeypatch.setattr(yamlload, "MAX_SPEC_BYTES", 1000)
    root = project({"specs/a.yaml": EVALUATION + "# " + "x" * 1000 + "\n"})
    result = run("validate", cwd=root)
    assert result.err.splitlines()[0] == (
        "specs/a.yaml: file is 1,176 bytes, over the 1,000-byte limit for YAML files"
    )


def test_oversized_data_file(project, run, monkeypatch) -> None:
    from evalspec.spec import fileref

    monkeypatch.setattr(fileref, "MAX_FILE_BYTES", 10)
    spec = EVALUATION.replace("data: [{q: a}]", "data: file://../data/rows.jsonl")
    root = project({"specs/a.yaml": spec, "data/rows.jsonl": '{"q": "a long row"}\n'})
    result = run("validate", cwd=root)
    assert result.err.splitlines()[0] == (
        "data/rows.jsonl: $.data: file is 20 bytes, over the 10-byte limit"
    )
