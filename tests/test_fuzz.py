"""Whatever the input, validate answers with success or located errors: never a traceback."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import EXAMPLES

LOCATED = re.compile(r"^[^\s:]+(:\d+:\d+)?: \S")
SWEEP = (EXAMPLES / "sweep" / "specs" / "support.yaml").read_text()
YAML_CHARS = st.sampled_from(list("abc:-[]{},&*!|>'\"#%@`?~ \n\t0123.e$") + ["${{", "}}",
                             "kind: ", "name: ", "matrix:", "tasks:", "!!python/name:x", "\xe9"])
KEYS = st.sampled_from(["kind", "name", "data", "dataset", "tasks", "matrix", "metadata", "tags",
                        "task_type", "configuration", "model", "messages", "temperature",
                        "role", "content", "items", "members", "key", "lifecycle", "exclude"])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True),
                    st.sampled_from(["Evaluation", "Dataset", "EvaluationGroup", "chat_completion",
                                     "openai/gpt-4o", "item.q", "${{ matrix.m }}", "file://x",
                                     "${{ vars.nope }}", "${{", "ev"]))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(KEYS, inner, max_size=4), max_leaves=12)


def check(run, spec: str | bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "evalspec.yaml").write_text("project: fuzz\nvars: {models: [a/b]}\n")
        (root / "specs").mkdir()
        target = root / "specs" / "a.yaml"
        target.write_bytes(spec if isinstance(spec, bytes) else spec.encode("utf-8"))
        result = run("validate", cwd=root)
    assert result.code in (0, 1), result.err
    assert "internal error" not in result.err, result.err
    assert "Traceback" not in result.err
    if result.code == 1:
        lines = result.err.splitlines()
        assert lines[-1].startswith("Found ")
        assert all(LOCATED.match(line) for line in lines[:-1]), lines


SETTINGS = settings(max_examples=120, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(st.lists(YAML_CHARS, max_size=60).map("".join))
def test_random_text(run, text: str) -> None:
    check(run, text)


@SETTINGS
@given(st.integers(0, len(SWEEP)), st.integers(0, 40), st.lists(YAML_CHARS, max_size=8))
def test_mutated_example(run, start: int, cut: int, insert: list[str]) -> None:
    check(run, SWEEP[:start] + "".join(insert) + SWEEP[start + cut:])


@SETTINGS
@given(st.dictionaries(KEYS, VALUES, max_size=6))
def test_random_documents(run, doc: dict) -> None:
    import json

    doc.setdefault("kind", "Evaluation")
    check(run, json.dumps(doc))


def test_a_task_type_that_is_a_list_is_explained_not_a_crash(project, run) -> None:
    # Found by test_random_documents: {'tasks': [{'task_type': []}]}
    root = project({"specs/a.yaml": "kind: Evaluation\nname: x\ndata: [{q: 1}]\ntasks:\n"
                                    "  - task_type: []\n"})
    result = run("validate", cwd=root)
    assert result.code == 1 and "internal error" not in result.err
    assert result.err.startswith("specs/a.yaml:5:16: $.tasks[0].task_type: unknown task_type "
                                 "a list; expected one of agentex_output, ")
