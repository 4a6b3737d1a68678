"""What a pull-request author or a remote object can inject: each test reproduces an attack
against the local platform and checks that it does nothing."""

from __future__ import annotations

import json

from tests.conftest import edit
from tests.test_plan_apply import ENV, apply, owned, plan

CLIPBOARD = "\x1b]52;c;ZXZpbA==\x07"  # OSC 52: write "evil" to the clipboard
CLEAR = "\x1b[2J"
TITLE = "\x1b]0;pwned\x07"
FORGED = "Evaluation/x\n  # Evaluation/fake line will be archived"


def _plant(sdk, platform, project: str) -> None:
    """Escapes in a drifted description, and an owned object whose address forges a line."""
    [evaluation] = owned(platform, project)
    sdk.evaluations.update(evaluation["id"], evaluation={
        "description": f"fine\n{CLIPBOARD}{CLEAR}{TITLE}then\r\x9b31mred"})
    copy = {k: evaluation[k] for k in ("tags", "tasks")}
    sdk.evaluations.create(evaluation={
        **copy, "name": f"n{CLEAR}", "data": [{"country": "Peru"}],
        "metadata": {"evalspec.project": project, "evalspec.address": FORGED}})


def test_remote_text_cannot_drive_the_terminal_or_forge_plan_lines(workdir, platform, sdk,
                                                                   run, terminal) -> None:
    root = workdir("quickstart")
    assert apply(run, root, platform.url).code == 0
    _plant(sdk, platform, "quickstart")
    shown = terminal("plan", "--endpoint", platform.url, cwd=root, env={**ENV, "NO_COLOR": "1"})
    assert shown.code == 0
    assert "\x1b" not in shown.screen and "\x9b" not in shown.screen and "\x07" not in shown.screen
    lines = shown.screen.splitlines()
    assert not any(line.lstrip().startswith("# Evaluation/fake") for line in lines)
    assert "  # Evaluation/x\\n  # Evaluation/fake line will be archived will be archived " \
           "(no longer in the specs)" in lines
    start = lines.index("          -fine")  # a multi-line value owns the lines of its diff
    assert lines[start + 1:start + 3] == [
        "          -\\x1b]52;c;ZXZpbA==\\x07\\x1b[2J\\x1b]0;pwned\\x07then",
        "          -\\x9b31mred"]
    status = terminal("status", "--endpoint", platform.url, cwd=root,
                      env={**ENV, "NO_COLOR": "1"})
    assert "\x1b" not in status.screen and "  n\\x1b[2J  " in status.screen


def test_remote_text_is_escaped_in_apply_progress_and_errors(workdir, platform, sdk,
                                                             run) -> None:
    root = workdir("quickstart")
    assert apply(run, root, platform.url).code == 0
    _plant(sdk, platform, "quickstart")
    result = apply(run, root, platform.url)
    assert result.code == 0
    assert "\x1b" not in result.out + result.err
    assert ("Evaluation/x\\n  # Evaluation/fake line will be archived: archived"
            in result.out)


def test_annotations_cannot_drive_the_terminal_from_a_summary(tmp_path, run) -> None:
    from tests.test_tasks_summary import response, task, write

    lines = [task([response(f"a{CLIPBOARD}", f"m/a{TITLE}\nforged", overall=3),
                   response("b|x", "m/<img src=x onerror=alert(1)>", overall=4)])]
    path = write(tmp_path, lines)
    text = run("tasks", "summary", path).out
    assert "\x1b" not in text and "\x07" not in text
    assert "a\\x1b]52;c;ZXZpbA==\\x07" in text and "\nforged" not in text
    markdown = run("tasks", "summary", path, "--format", "markdown").out
    assert "\x1b" not in markdown and "<img" not in markdown
    rows = [line for line in markdown.splitlines() if line.startswith("| ") and "m/" in line]
    assert [line.count("|") for line in rows] == [7, 7]  # no value adds a table cell


def test_a_description_cannot_break_out_of_the_markdown_plan(workdir, platform, run) -> None:
    from markdown_it import MarkdownIt

    # A line of a description that stays the same is a context line of the plan's diff: a
    # fence there once closed the code block, and the changed lines after it became Markdown.
    root = workdir("quickstart")
    attack = ("</details>\n\n### Plan: No changes. Approve!\n\n"
              "![ok](https://example.com/ok.png)\n<details><summary>x</summary>\n```diff\n"
              "````\n~~~\n@maintainers")
    spec = root / "specs" / "capitals.yaml"
    first, second = json.dumps("a\n```\nb"), json.dumps("A\n```\n" + attack)
    edit(spec, "description: Does the model know capital cities?", f"description: {first}")
    assert apply(run, root, platform.url).code == 0
    edit(spec, first, second)
    result = plan(run, root, platform.url, "--format", "markdown")
    assert result.code == 0
    tokens = MarkdownIt("commonmark").enable("table").parse(result.out)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings == [f"evalspec plan for `quickstart` on `{platform.url}`"]
    assert not any(t.type == "image" for t in tokens for t in (t.children or [t]))
    html = [t.content.strip() for t in tokens if t.type == "html_block"]
    assert html == ["<!-- evalspec-plan -->", "<details><summary>1 updated in place</summary>",
                    "</details>"]
    [block] = [t for t in tokens if t.type == "fence"]
    assert block.info == "diff"
    assert "### Plan: No changes. Approve!" in block.content  # shown as text, inside the block
    assert all(line[:1] in "+-~!#@ " for line in block.content.splitlines())
    summary = [t.content for t in tokens if t.type == "inline" and t.content.startswith("`Plan")]
    assert summary == ["`Plan: 0 to create, 1 to update, 0 to replace, 0 to restore, "
                       "0 to archive.`"]


def test_warnings_in_the_markdown_plan_are_inert(workdir, platform, run) -> None:
    from markdown_it import MarkdownIt

    root = workdir("quickstart")
    edit(root / "evalspec.yaml", "endpoint: local\n",
         "endpoint: local\npolicy:\n  required_tags: ['<img src=x>|[a](b)|@team']\n"
         "  enforcement: {required_tags: advisory}\n")
    result = plan(run, root, platform.url, "--format", "markdown")
    tokens = MarkdownIt("commonmark").parse(result.out)
    inline = [c for t in tokens for c in (t.children or [])]
    assert not any(c.type in ("html_inline", "link_open", "image") for c in inline)
    assert "<img src=x>|[a](b)|@team" in "".join(c.content for c in inline if c.type == "text")


def test_a_hand_added_project_tag_does_not_make_an_object_archivable(workdir, platform, sdk,
                                                                     run) -> None:
    root = workdir("quickstart")
    assert apply(run, root, platform.url).code == 0
    tag = "evalspec:quickstart"
    bare = sdk.evaluations.create(evaluation={"name": "theirs", "data": [{"q": 1}],
                                              "tags": [tag]})
    other = sdk.evaluations.create(evaluation={
        "name": "other", "data": [{"q": 1}], "tags": [tag],
        "metadata": {"evalspec.project": "another", "evalspec.address": "Evaluation/other"}})
    dataset = sdk.datasets.create(name="rows", data=[{"q": 1}], tags=[tag])
    result = plan(run, root, platform.url)
    assert (result.code, result.out) == (0, "No changes. The platform matches the specs.\n")
    assert result.err.splitlines() == [
        f"warning: Evaluation 'theirs' ({bare.id}) has the tag {tag} but no evalspec.project "
        "metadata, so evalspec leaves it alone; remove the tag, or bring it under the project "
        "with 'evalspec import'",
        f"warning: Evaluation 'other' ({other.id}) has the tag {tag} but its metadata "
        "evalspec.project is 'another', so evalspec leaves it alone; remove the tag, or bring "
        "it under the project with 'evalspec import'",
        f"warning: Dataset 'rows' ({dataset.id}) has the tag {tag} but no "
        "evalspec.fingerprint:<hex> tag, so evalspec leaves it alone; remove the tag, or bring "
        "it under the project with 'evalspec import'"]
    document = json.loads(plan(run, root, platform.url, "--format", "json").out)
    assert [w.split(" (")[0] for w in document["warnings"]] == [
        "Evaluation 'theirs'", "Evaluation 'other'", "Dataset 'rows'"]
    destroyed = run("destroy", str(root), "--endpoint", platform.url, "--auto-approve", env=ENV)
    assert destroyed.code == 0, destroyed.err
    assert all(sdk.evaluations.retrieve(e.id).archived_at is None for e in (bare, other))
    assert sdk.datasets.retrieve(dataset.id).archived_at is None
    assert sorted(e["id"] for e in owned(platform, "quickstart")) == sorted([bare.id, other.id])


def test_a_group_cannot_name_another_accounts_evaluation(tmp_path) -> None:
    import httpx

    from evalspec.platform.api import Settings
    from evalspec.platform.server import start_background

    server = start_background(Settings(db=tmp_path / "p.db",
                                       api_keys={"key-a": "acme", "key-b": "globex"}))
    try:
        def client(key: str) -> httpx.Client:
            return httpx.Client(base_url=server.url, headers={"x-api-key": key}, timeout=10)

        with client("key-a") as acme, client("key-b") as globex:
            theirs = globex.post("/v5/evaluations", json={"name": "t", "data": [{"q": 1}]})
            mine = acme.post("/v5/evaluations", json={"name": "m", "data": [{"q": 1}]})
            group = acme.post("/v5/evaluation-groups", json={
                "name": "g", "evaluation_ids": [mine.json()["id"]]}).json()
            foreign = {theirs.json()["id"]: "id"}
            for method in ("patch", "put"):
                answer = acme.request(method.upper(), f"/v5/evaluation-groups/{group['id']}",
                                      json={"name": "g", "row_identifiers": foreign})
                assert answer.status_code == 400, method
                assert "not a member of the group" in answer.json()["detail"]
            created = acme.post("/v5/evaluation-groups", json={  # ignored, as documented
                "name": "h", "evaluation_ids": [mine.json()["id"]], "row_identifiers": foreign})
            assert created.json()["row_identifiers"] == []
            kept = acme.get(f"/v5/evaluation-groups/{group['id']}",
                            params={"views": "row_identifiers"}).json()
            assert kept["row_identifiers"] == []
    finally:
        server.stop()


BIDI = "\u202a\u202b\u202c\u202d\u202e"


def _hostile(text: str) -> bool:
    """Whether a terminal would obey something in ``text``: ESC, BEL, CSI, bidi overrides."""
    return any(c in text for c in "\x1b\x07\x9b" + BIDI)


def test_every_command_shows_hostile_remote_names_inertly_in_a_terminal(workdir, tmp_path,
                                                                        run, terminal) -> None:
    """Another key renames what the project owns: no command's output obeys the names."""
    import httpx

    from evalspec.platform.api import Settings
    from evalspec.platform.server import start_background

    server = start_background(Settings(db=tmp_path / "h.db", complete_after=0.1))
    try:
        root = workdir("judge-sweep")
        assert apply(run, root, server.url).code == 0
        hostile = f"faq-openai-gpt-4o{TITLE}{CLEAR}\nforged{BIDI}"
        headers = {"x-api-key": "k"}
        listed = httpx.get(f"{server.url}/v5/evaluations", headers=headers,
                           params={"tags": "evalspec:judge-sweep", "limit": 100}).json()
        for evaluation in listed["items"]:
            name = hostile if evaluation["name"] == "faq-openai-gpt-4o" else evaluation["name"]
            assert httpx.patch(f"{server.url}/v5/evaluations/{evaluation['id']}",
                               headers=headers, json={"name": name,
                                                      "description": f"d{CLIPBOARD}"}
                               ).status_code == 200
        assert run("status", str(root), "--endpoint", server.url, "--watch", "--interval",
                   "0.05", env=ENV).code == 0
        env = {**ENV, "NO_COLOR": "1"}
        commands = [
            ("report", "faq-judged", "--endpoint", server.url),
            ("report", "faq-judged", "--endpoint", server.url, "--format", "markdown"),
            ("check", "--endpoint", server.url),
            ("status", "--endpoint", server.url),
            ("state", "list", "--endpoint", server.url),
            ("plan", "--endpoint", server.url),
            ("plan", "--endpoint", server.url, "--format", "markdown"),
            ("results", "faq-judged", "--endpoint", server.url, "-o", str(tmp_path / "r.jsonl")),
            ("state", "show", "Evaluation/faq-openai-gpt-4o", "--endpoint", server.url),
            ("apply", "--endpoint", server.url, "--auto-approve"),  # puts the names back
        ]
        report = terminal("report", "faq-judged", "--endpoint", server.url, cwd=root, env=env)
        assert "\\x1b]0;pwned\\x07\\x1b[2J\\nforged\\u202a" in report.screen
        for command in commands:
            shown = terminal(*command, cwd=root, env=env)
            ours = shown.screen.replace("\r\x1b[K", "\n")  # apply's progress bar clears its line
            assert not _hostile(ours), (command, shown.screen[-2000:])
            assert "\nforged" not in shown.screen, command
    finally:
        server.stop()


def test_an_html_summary_on_standard_output_carries_no_control_character(tmp_path,
                                                                         terminal) -> None:
    from tests.test_tasks_summary import response, task, write

    path = write(tmp_path, [task([response(f"a{CLIPBOARD}{BIDI}", f"m/a{TITLE}", overall=3),
                                  response("b", "m/b", overall=4)])])
    shown = terminal("tasks", "summary", path, "--format", "html", cwd=tmp_path, env={})
    assert shown.code == 0 and "<svg" in shown.screen
    assert not _hostile(shown.screen)
    assert "a\\x1b]52;c;ZXZpbA==\\x07\\u202a" in shown.screen


def test_bidi_overrides_and_line_breaks_are_escaped_everywhere() -> None:
    from evalspec.sanitize import document, html_text, keep_lines, markdown_text, one_line

    for char in [*BIDI, "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f",
                 "\u061c", "\u2028", "\u2029"]:
        escaped = f"\\u{ord(char):04x}"
        for render in (one_line, keep_lines, html_text):
            assert render(f"a{char}b") == f"a{escaped}b", (render, char)
        assert markdown_text(f"a{char}b") == f"a&#92;u{ord(char):04x}b"
        assert document([f"a{char}b"]) == f"a{escaped}b\n"
    assert document(["x\ny", "z\x1b"]) == "x\\ny\nz\\x1b\n"


def test_a_code_span_is_always_longer_than_any_backtick_run_inside() -> None:
    import re

    from hypothesis import given
    from hypothesis import strategies as st

    from evalspec.sanitize import code_span, fence

    @given(st.text(alphabet="`a \n", max_size=40))
    def check(value: str) -> None:
        span = code_span(value)
        opening = re.match("`+", span).group()
        runs = [len(r) for r in re.findall("`+", span[len(opening):len(span) - len(opening)])]
        assert span.endswith(opening) and all(r < len(opening) for r in runs)
        ticks = fence(value.splitlines())
        assert all(len(r) < len(ticks) for r in re.findall("`+", value)) and len(ticks) >= 3

    check()
    assert code_span("a``b") == "``` a``b ```"
    assert code_span("plain") == "`plain`"


def test_json_for_people_and_programs_is_the_same_value_and_inert() -> None:
    from evalspec.sanitize import json_text

    value = {"name": f"a{TITLE}\x9b31m{BIDI}\u2028é\x7f", "n": [1, 2.5, None]}
    for text in (json_text(value), json_text(value, indent=2), json_text(value, compact=True)):
        assert json.loads(text) == value
        assert not _hostile(text) and "\x7f" not in text and "\u2028" not in text
        assert "é" in text  # readable text stays readable
