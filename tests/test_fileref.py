"""file:// references: every row format, text, templated paths, and the data file's lines."""

from __future__ import annotations

import json

from tests.conftest import EVALUATION


def render(run, root) -> list[dict]:
    result = run("render", str(root), "--format", "json")
    assert result.code == 0, result.err
    return json.loads(result.out)["objects"]


def with_data(ref: str) -> str:
    return EVALUATION.replace("data: [{q: a}]", f"data: {ref}")


def test_row_formats_give_the_same_rows(project, run) -> None:
    rows = [{"q": "a", "n": "1"}, {"q": "b", "n": "2"}]
    root = project({
        "specs/a.yaml": with_data("file://../data/rows.jsonl")
        + "---\n" + with_data("file://../data/rows.json").replace("name: ev", "name: ev-json")
        + "---\n" + with_data("file://../data/rows.csv").replace("name: ev", "name: ev-csv")
        + "---\n" + with_data("file://../data/rows.yaml").replace("name: ev", "name: ev-yaml"),
        "data/rows.jsonl": "".join(json.dumps(r) + "\n" for r in rows) + "\n",
        "data/rows.json": json.dumps(rows),
        "data/rows.csv": "q,n\na,1\n\nb,2\n",
        "data/rows.yaml": "- {q: a, n: '1'}\n- {q: b, n: '2'}\n",
    })
    objects = render(run, root)
    assert [o["body"]["data"] for o in objects] == [rows] * 4
    assert len({o["fingerprint"] for o in objects}) == 1


def test_csv_quoted_fields_span_lines_and_rows_keep_their_line(project, run) -> None:
    root = project({
        "specs/a.yaml": "kind: Dataset\nname: d\nkey: id\nitems: file://../data/d.csv\n",
        "data/d.csv": 'id,text\n1,"two\nlines"\n2,x\n2,dup\n',
    })
    result = run("validate", cwd=root)
    assert result.err.splitlines()[0] == (
        "data/d.csv:5:1: $.items[2]: duplicate dataset key id='2' (also items[1])"
    )


def test_templated_reference_to_a_prompt(project, run) -> None:
    spec = EVALUATION.replace("name: ev\n",
                              "name: ev-${{ matrix.lang }}\nmatrix: {lang: [en, fr]}\n")
    spec = spec.replace("content: item.q", "content: 'file://../prompts/${{ matrix.lang }}.txt'")
    root = project({"specs/a.yaml": spec, "prompts/en.txt": "Hello ${{ not.a.template }}\n",
                    "prompts/fr.txt": "Bonjour\n"})
    objects = render(run, root)
    contents = [o["body"]["tasks"][0]["configuration"]["messages"][0]["content"] for o in objects]
    assert contents == ["Hello ${{ not.a.template }}\n", "Bonjour\n"]


def test_templated_reference_to_a_missing_file(project, run) -> None:
    spec = EVALUATION.replace("name: ev\n", "name: ev-${{ matrix.lang }}\nmatrix: {lang: [de]}\n")
    spec = spec.replace("content: item.q", "content: 'file://../prompts/${{ matrix.lang }}.txt'")
    root = project({"specs/a.yaml": spec})
    result = run("validate", cwd=root)
    assert result.err.splitlines()[0] == (
        "specs/a.yaml:9:40: $.tasks[0].configuration.messages[0].content: "
        "'file://../prompts/de.txt': no such file (prompts/de.txt)"
    )


def test_file_contents_are_read_once_and_shared(project, run, monkeypatch) -> None:
    from evalspec.spec import fileref

    reads: list[str] = []
    original = fileref._read_jsonl
    monkeypatch.setattr(fileref, "_read_jsonl",
                        lambda path, file: reads.append(file) or original(path, file))
    spec = with_data("file://../data/rows.jsonl").replace(
        "name: ev\n", "name: ev-${{ matrix.n }}\nmatrix: {n: [1, 2, 3]}\n")
    root = project({"specs/a.yaml": spec, "data/rows.jsonl": '{"q": "a"}\n'})
    assert len(render(run, root)) == 3
    assert len(reads) == 1 and reads[0].endswith("data/rows.jsonl")


def test_defaults_merge_under_evaluations(project, run) -> None:
    config = """\
project: demo
defaults:
  tags: [team:a, shared]
  metadata: {owner: x, tier: 1}
  description: from defaults
  configuration: {temperature: 0.3, max_tokens: 100}
"""
    spec = EVALUATION.replace("name: ev\n", "name: ev\ntags: [shared, mine]\nmetadata: {tier: 2}\n")
    spec = spec.replace("      model: openai/gpt-4o\n",
                        "      model: openai/gpt-4o\n      max_tokens: 5\n")
    root = project({"specs/a.yaml": spec}, config)
    [obj] = render(run, root)
    body = obj["body"]
    assert body["description"] == "from defaults"
    assert body["tags"] == ["team:a", "shared", "mine", "evalspec:demo"]
    assert {k: v for k, v in body["metadata"].items() if not k.startswith("evalspec.")} == {
        "owner": "x", "tier": 2}
    config_out = body["tasks"][0]["configuration"]
    assert (config_out["temperature"], config_out["max_tokens"]) == (0.3, 5)


def _validate_errors(run, root) -> list[str]:
    result = run("validate", str(root), cwd=root)
    assert result.code == 1
    return result.err.splitlines()[:-1]  # without "Found N errors ..."


def test_rows_and_values_per_data_file_are_capped_with_the_line(project, run,
                                                                 monkeypatch) -> None:
    from evalspec.spec import fileref

    monkeypatch.setattr(fileref, "MAX_DATA_ROWS", 3)
    monkeypatch.setattr(fileref, "MAX_DATA_CELLS", 7)
    rows = "".join(json.dumps({"q": str(i)}) + "\n" for i in range(4))
    root = project({
        "specs/a.yaml": with_data("file://../data/rows.jsonl")
        + "---\n" + with_data("file://../data/rows.csv").replace("name: ev", "name: ev-csv")
        + "---\n" + with_data("file://../data/rows.json").replace("name: ev", "name: ev-json")
        + "---\n" + with_data("file://../data/wide.jsonl").replace("name: ev", "name: ev-w"),
        "data/rows.jsonl": "\n" + rows,
        "data/rows.csv": "q\n0\n1\n\n2\n3\n",
        "data/rows.json": json.dumps([{"q": str(i)} for i in range(4)]),
        "data/wide.jsonl": '{"a": 1, "b": 2, "c": 3}\n{"a": 1, "b": 2, "c": 3}\n'
                           '{"a": 1, "b": 2}\n',
    })
    limit = "rows: over the limit for one data file; split it, or use a Dataset with fewer rows"
    assert _validate_errors(run, root) == [
        f"data/rows.csv:6:1: $.data: more than 3 {limit}",
        f"data/rows.json:1:1: $.data: more than 3 {limit}",
        f"data/rows.jsonl:5:1: $.data: more than 3 {limit}",
        "data/wide.jsonl:3:1: $.data: more than 7 values in its rows: over the limit for one "
        "data file",
    ]


def test_a_json_data_file_with_too_many_objects_is_refused_before_it_is_parsed(
        project, run, monkeypatch) -> None:
    from evalspec.spec import fileref

    monkeypatch.setattr(fileref, "MAX_JSON_CONTAINERS", 10)
    monkeypatch.setattr(fileref.json, "loads", None)  # never reached
    root = project({"specs/a.yaml": with_data("file://../data/rows.json"),
                    "data/rows.json": json.dumps([{"q": [i]} for i in range(5)])})
    assert _validate_errors(run, root) == [
        "data/rows.json:1:1: $.data: more than 10 objects and arrays: over the limit for one "
        "data file"]


def test_a_huge_key_makes_a_short_message(project, run) -> None:
    key = "k" * 2_000_000
    root = project({"specs/a.yaml": EVALUATION.replace("name: ev\n", f"name: ev\n? {key}\n: 1\n")})
    result = run("validate", str(root))
    assert result.code == 1 and len(result.err) < 2_500
    assert "... (1,999,900 more characters)']: unknown key 'kkk" in result.err
    assert result.err.splitlines()[0].endswith("... (1,999,014 more characters)")
    as_json = run("validate", str(root), "--format", "json")
    assert len(as_json.out) < 5_000
