from __future__ import annotations

import math

import pytest

from evalspec.spec.yamlload import parse


def values(text: str) -> list[object]:
    docs, problems = parse(text, "f.yaml")
    assert problems == []
    return [d.value for d in docs]


def messages(text: str) -> list[str]:
    docs, problems = parse(text, "f.yaml")
    return [str(p) for p in problems]


def test_yaml_12_scalars_keep_yes_no_and_timestamps_as_strings() -> None:
    [doc] = values(
        "a: yes\nb: on\nc: 2024-01-01\nd: 2024-01-01T10:00:00Z\ne: 1e3\nf: 0x10\ng: 0o17\n"
        "h: ~\ni: True\nj: '1'\nk: 1_000\nl: -.inf\n"
    )
    assert doc == {"a": "yes", "b": "on", "c": "2024-01-01", "d": "2024-01-01T10:00:00Z",
                   "e": 1000.0, "f": 16, "g": 15, "h": None, "i": True, "j": "1",
                   "k": "1_000", "l": -math.inf}


def test_keys_are_kept_as_written() -> None:
    assert values("logit_bias: {50256: -100, 1.0: 1, true: 2}\n") == [
        {"logit_bias": {"50256": -100, "1.0": 1, "true": 2}}
    ]


def test_locations_of_values_and_keys() -> None:
    docs, _ = parse("a:\n  b: [x, {c: 1}]\n---\nz: 2\n", "f.yaml")
    first, second = docs
    assert str(first.locate(("a", "b", 1, "c"))) == "f.yaml:2:14"
    assert str(first.locate(("a", "b", 1, "c"), key=True)) == "f.yaml:2:11"
    assert str(first.locate(("a", "b", 1, "missing", 3))) == "f.yaml:2:10"
    assert str(second.locate(("z",))) == "f.yaml:4:4"
    assert second.index == 1


def test_anchors_aliases_and_merge_keys() -> None:
    [doc] = values("base: &b {model: m, t: 1}\nx:\n  <<: *b\n  t: 2\ny: *b\n")
    assert doc == {"base": {"model": "m", "t": 1}, "x": {"t": 2, "model": "m"},
                   "y": {"model": "m", "t": 1}}


def test_duplicate_keys_are_reported_at_the_second() -> None:
    assert messages("a: 1\nb: 2\na: 3\n") == [
        "f.yaml:3:1: $.a: duplicate key 'a' (first defined at line 1)"
    ]


def test_billion_laughs_is_refused_before_expansion() -> None:
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        refs = ",".join([f"*l{i-1}"] * 9)
        lines.append(f"l{i}: &l{i} [{refs}]")
    docs, problems = parse("\n".join(lines) + "\n", "f.yaml")
    assert docs == []
    assert [str(p) for p in problems] == [
        "f.yaml:5:10: aliases expand this document beyond 10,000 nodes; refusing to load it "
        "(possible alias bomb)"
    ]


def test_recursive_and_unknown_aliases() -> None:
    assert messages("a: &a [*a]\n") == [
        "f.yaml:1:8: recursive alias '*a' refers to a node that contains it"
    ]
    assert messages("a: *nope\n") == [
        "f.yaml:1:4: unknown alias '*nope' (no anchor '&nope' before it)"
    ]


def test_deep_nesting_stops_before_the_parser_recurses() -> None:
    # 100,000 levels crash libyaml's own composer with a stack overflow.
    assert messages("a: " + "[" * 100_000) == [
        "f.yaml:1:67: document is nested deeper than 64 levels"
    ]


def test_python_tags_are_never_constructed() -> None:
    assert messages("a: !!python/object/apply:os.system ['touch /tmp/pwned']\n") == [
        "f.yaml:1:4: unsupported YAML tag '!!python/object/apply:os.system'; only plain data "
        "(strings, numbers, booleans, null, lists, mappings) is allowed"
    ]


def test_explicit_core_tags() -> None:
    assert values("a: !!str 1\nb: !!float 2\nc: !!int '3'\n") == [{"a": "1", "b": 2.0, "c": 3}]
    assert messages("a: !!int x\n") == ["f.yaml:1:4: $.a: 'x' is not a valid !!int"]


def test_syntax_error_is_located() -> None:
    assert messages("a: b: c\n") == [
        "f.yaml:1:5: invalid YAML: mapping values are not allowed in this context; likely a "
        "value with ': ' in it (quote the value)"
    ]


@pytest.mark.parametrize("text, message", [
    ("a:\n  b: 1\n   c: 2\n",
     "f.yaml:3:5: invalid YAML: mapping values are not allowed in this context; likely a value "
     "with ': ' in it (quote the value), a key indented deeper than line 2, or line 2 lacking "
     "its ':'"),
    ("a:\n  b: 1\n c: 2\n",
     "f.yaml:3:2: invalid YAML: did not find expected key (while parsing a block mapping); "
     "likely indentation: this line does not line up with the keys of the mapping that starts "
     "at line 1"),
    ("a:\n\t- b\n",
     "f.yaml:2:1: invalid YAML: found character that cannot start any token (while scanning "
     "for the next token); YAML indents with spaces, not tabs"),
    ("a:\n  - x\n  y\n",
     "f.yaml:4:1: invalid YAML: could not find expected ':' (while scanning a simple key); "
     "line 3 is neither 'key: value' nor a list item ('- value'): add the ':' or the '- ', or "
     "quote a value that spans lines"),
    ("a: [1, 2\nb: 3\n",
     "f.yaml:2:2: invalid YAML: did not find expected ',' or ']' (while parsing a flow "
     "sequence); the bracket opened at 1:4 is not closed, or an item lacks its ','"),
    ('a: "x\n',
     "f.yaml:2:1: invalid YAML: found unexpected end of stream (while scanning a quoted "
     "scalar); the quote opened at 1:4 is never closed"),
])
def test_cryptic_syntax_errors_get_a_hint(text: str, message: str) -> None:
    assert messages(text) == [message]


def test_a_document_with_too_many_nodes_stops_where_it_crosses_the_cap() -> None:
    # A 16 MiB spec of 900,000 keys once took 15 s and 634 MB to reach its error.
    text = "kind: Evaluation\nmetadata:\n" + "".join(f"  k{i}: v\n" for i in range(100_001))
    assert messages(text) == [
        "f.yaml:100000:11: document has more than 200,000 keys and values; move rows to a data "
        "file (file://rows.jsonl)"]
    docs, problems = parse("- [1, 2]\n- 3\n", "f.yaml", max_nodes=4)
    assert [str(p) for p in problems] == [
        "f.yaml:2:3: document has more than 4 keys and values; move rows to a data file "
        "(file://rows.jsonl)"]
    docs, problems = parse("- [1, 2]\n---\n- [1, 2]\n", "f.yaml", max_nodes=4)  # per document
    assert problems == [] and [d.value for d in docs] == [[[1, 2]], [[1, 2]]]


def test_data_files_may_hold_more_rows_than_a_spec(project, run) -> None:
    rows = "".join(f"- {{q: {i}, a: {i}}}\n" for i in range(40_000))  # 200,001 nodes
    spec = ("kind: Evaluation\nname: ev\ndata: file://../data/rows.yaml\ntasks:\n"
            "  - task_type: chat_completion\n    configuration:\n      model: openai/gpt-4o\n"
            "      messages: [{role: user, content: item.q}]\n")
    root = project({"specs/a.yaml": spec, "data/rows.yaml": rows})
    result = run("validate", cwd=root)
    assert result.code == 0, result.err
