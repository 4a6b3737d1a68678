from __future__ import annotations

import pytest

from evalspec.spec.instantiate import render_tree
from evalspec.spec.template import Context, TemplateError, compile_string, compile_tree

CTX = Context(
    vars={"models": ["openai/gpt-4o", "x/y"], "n": 3, "nested": {"k": "v"}},
    env={"REGION": "eu"},
    matrix={"model": "openai/gpt-4o", "temperature": 0.7, "flag": True},
    env_declared=frozenset({"REGION", "MISSING"}),
)


def render(text: str, ctx: Context = CTX) -> object:
    compiled = compile_string(text)
    return compiled if isinstance(compiled, str) else compiled.render(ctx)


def test_whole_expression_keeps_the_type() -> None:
    assert render("${{ matrix.temperature }}") == 0.7
    assert render("${{ vars.models }}") == ["openai/gpt-4o", "x/y"]
    assert render("${{ matrix.flag }}") is True
    assert render("${{vars.n}}") == 3


def test_embedded_expressions_become_text() -> None:
    assert render("faq-${{ matrix.model | slug }}-t${{ matrix.temperature }}") == (
        "faq-openai-gpt-4o-t0.7"
    )
    assert render("flag=${{ matrix.flag }} n=${{ vars.n }}") == "flag=true n=3"
    assert render("${{ vars.nested.k | upper }}-${{ env.REGION }}") == "V-eu"


def test_filters() -> None:
    assert render("${{ matrix.model | upper }}") == "OPENAI/GPT-4O"
    assert render("${{ vars.models | json }}") == '["openai/gpt-4o","x/y"]'
    assert render("${{ env.MISSING | default('none') }}") == "none"
    assert render("${{ env.MISSING | default(0.5) }}") == 0.5
    assert render("${{ vars.unset | default(null) }}") is None


@pytest.mark.parametrize("literal, value", [
    ("'single'", "single"), ('"double"', "double"), (r"'it\'s'", "it's"),
    (r'"say \"hi\""', 'say "hi"'), ("''", ""), ("42", 42), ("-7", -7), ("0.5", 0.5),
    ("1e3", 1000.0), ("2E-1", 0.2), ("true", True), ("false", False), ("null", None),
])
def test_default_takes_json_like_literals(literal: str, value: object) -> None:
    found = render(f"${{{{ vars.unset | default({literal}) }}}}")
    assert (found, type(found)) == (value, type(value))


def test_platform_placeholders_and_escapes_pass_through() -> None:
    assert render("{{ item.question }}") == "{{ item.question }}"
    assert render("literal $${{ vars.n }}") == "literal ${{ vars.n }}"


@pytest.mark.parametrize(
    "text, message",
    [
        ("${{ vars.nope }}", "unknown variable 'vars.nope'"),
        ("${{ vars.model }}", "unknown variable 'vars.model' (did you mean 'models'?)"),
        ("${{ matrix.modle }}",
         "the matrix has no key 'modle' (did you mean 'model'?); keys: model, temperature, flag"),
        ("${{ vars.nested.q }}", "'vars.nested' has no key 'q'"),
        ("${{ secrets.x }}", "unknown reference 'secrets.x'; references start with vars., "
                             "matrix. or env."),
        ("${{ vars.n | title }}",
         "unknown filter 'title'; filters: slug, lower, upper, default, json"),
        ("${{ vars.n | default }}", "default needs a value, like default('none')"),
        ("${{ vars.n | default(os.system) }}",
         "default() needs a literal such as 'text', 42, true or null, got 'os.system'"),
        ("${{ vars.n | slug(1) }}", "filter 'slug' takes no arguments"),
        ("${{ }}", "empty expression '${{ }}'"),
        ("${{ __import__('os') }}",
         "'__import__('os')' is not a reference; expressions look like 'vars.name', "
         "'matrix.key' or 'env.NAME', optionally followed by '| filter'"),
        ("${{ env.SCALE_API_KEY }}",
         "'env.SCALE_API_KEY' looks like a credential; credentials cannot be used in specs"),
        ("${{ env.sgp_api_key }}",
         "'env.sgp_api_key' looks like a credential; credentials cannot be used in specs"),
        ("${{ env.HOME | default('x') }}",
         "environment variable HOME is not declared; specs read only the variables "
         "evalspec.yaml lists (add 'env: [HOME]' there)"),
        ("${{ env.region }}",
         "environment variable region is not declared; specs read only the variables "
         "evalspec.yaml lists (did you mean 'REGION'? names match exactly)"),
        ("a ${{ vars.n", "unterminated expression: '${{' without a closing '}}'"),
    ],
)
def test_errors(text: str, message: str) -> None:
    with pytest.raises(TemplateError) as exc:
        render(text)
    assert str(exc.value) == message


def test_untemplated_subtrees_are_shared_not_copied() -> None:
    rows = [{"q": "a"}]
    compiled = compile_tree({"name": "x-${{ matrix.model | slug }}", "data": rows})
    errors: list = []
    out = render_tree(compiled, CTX, errors)
    assert out == {"name": "x-openai-gpt-4o", "data": rows} and errors == []
    assert out["data"] is rows


def test_render_errors_carry_their_path() -> None:
    compiled = compile_tree({"tasks": [{"alias": "${{ vars.nope }}"}]})
    errors: list = []
    render_tree(compiled, CTX, errors)
    assert errors == [(("tasks", 0, "alias"), "unknown variable 'vars.nope'")]


@pytest.mark.parametrize("name", ["NPM_AUTH", "AWS_ACCESS_KEY_ID", "GH_PAT", "OPENAI_KEY",
                                  "SGP_APIKEY", "sgp_api_key", "SGP_ACCOUNT_ID", "Github_Token",
                                  "DB_PASSWORD", "CLIENT_SECRET", "SESSION_COOKIE"])
def test_credential_names_are_recognised_whatever_their_case(name: str) -> None:
    from evalspec.spec.template import is_credential

    assert is_credential(name) and is_credential(name.lower())


@pytest.mark.parametrize("name", ["EVAL_RUN_ID", "GITHUB_SHA", "REGION", "MODEL_FAMILY",
                                  "KEYBOARD_LAYOUT", "PATH_PREFIX"])
def test_ordinary_names_are_not_credentials(name: str) -> None:
    from evalspec.spec.template import is_credential

    assert not is_credential(name)


def test_every_filter_changes_what_it_should() -> None:
    assert render("${{ matrix.model | lower }}-${{ vars.nested.k | lower }}") == (
        "openai/gpt-4o-v")
    assert render("${{ vars.models | lower }}") == '["openai/gpt-4o","x/y"]'
    assert render("A${{ matrix.model | upper }}") == "AOPENAI/GPT-4O"
    assert render("${{ matrix.model | slug }}") == "openai-gpt-4o"
    assert render("${{ matrix.temperature | json }}") == "0.7"
    assert render("${{ vars.nested | json }}") == '{"k":"v"}'
    assert render("${{ vars.n | default(0) }}") == 3  # a value present wins over the default
    assert render("${{ vars.nested.k | upper | lower }}") == "v"  # filters apply in order


def _outcome(fn):
    try:
        return ("value", fn())
    except TemplateError as exc:
        return ("error", str(exc))


_KEYS = ["model", "temperature", "flag", "nested", "k", "models", "n", "nope"]


def test_the_closures_build_what_the_evaluator_gives_values_and_errors_alike() -> None:
    """Instances are built by closures with direct lookups (spec/instantiate.py); every value
    and every error message must be the evaluator's own, whatever the reference and filters."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from evalspec.spec.instantiate import instantiate
    from evalspec.spec.template import StrNode

    reference = st.builds(
        lambda root, keys, filters: f"{root}.{'.'.join(keys)}{''.join(filters)}",
        st.sampled_from(["matrix", "vars"]),
        st.lists(st.sampled_from(_KEYS), min_size=1, max_size=3),
        st.lists(st.sampled_from([" | slug", " | upper", " | json", " | default('d')"]),
                 max_size=2))
    text = st.one_of(
        reference.map(lambda r: f"${{{{ {r} }}}}"),
        st.tuples(reference, reference).map(lambda rs: f"a-${{{{ {rs[0]} }}}}-${{{{ {rs[1]} }}}}"))
    contexts = st.sampled_from([CTX, Context(vars={"nested": {"k": None}}, env={}),
                                Context(vars={}, env={}, matrix={"nested": {"k": [1]}},
                                        matrix_keys=("nested",))])

    @settings(max_examples=400, deadline=None)
    @given(text, contexts)
    def check(source: str, ctx: Context) -> None:
        compiled = compile_string(source)
        errors: list = []
        built = _outcome(lambda: instantiate(StrNode(compiled, ("x",)))(ctx, errors))
        if errors:
            built = ("error", errors[0][1])
        assert built == _outcome(lambda: compiled.render(ctx))

    check()


@pytest.mark.parametrize("value, text", [
    (None, ""), (True, "true"), (False, "false"), (3, "3"), (0.5, "0.5"), (-2.0, "-2.0"),
    ("café", "café"), ({"k": "café", "n": [1, 2]}, '{"k":"café","n":[1,2]}'),
    (["a", None], '["a",null]'),
])
def test_values_embedded_in_text_read_as_json_would_write_them(value, text) -> None:
    ctx = Context(vars={"x": value}, env={})
    assert render("[${{ vars.x }}]", ctx) == f"[{text}]"


@pytest.mark.parametrize("value, slugged", [
    ("OpenAI/GPT-4o", "openai-gpt-4o"), ("--Hello, World!--", "hello-world"), (0.7, "0-7"),
    (True, "true"), ("Ünïcode", "unicode"), ("café au lait", "cafe-au-lait"),
    ("straße", "strae"), ("模型/gpt", "gpt"), ("café—au lait", "cafe-au-lait"),
])
def test_slug_keeps_lowercase_letters_digits_and_single_dashes(value, slugged) -> None:
    ctx = Context(vars={"x": value}, env={})
    assert render("${{ vars.x | slug }}", ctx) == slugged


def test_filters_after_default_still_apply_and_a_missing_value_is_named() -> None:
    assert render("${{ vars.unset | default('x') | upper }}") == "X"
    assert render("${{ vars.unset | default(1) | json }}") == "1"
    ctx = Context(vars={"x": "café"}, env={})
    assert render("${{ vars.x | json }}", ctx) == '"café"'
    for text in ("${{ vars.unset | upper }}", "${{ vars.unset | json }}"):
        with pytest.raises(TemplateError) as error:
            render(text)
        assert str(error.value) == "unknown variable 'vars.unset'"


NESTED = Context(vars={"nested": {"key": 1}}, env={}, matrix={"k": {"a": 1}},
                 env_declared=frozenset({"MISSING"}))
NO_MATRIX = Context(vars={}, env={})
EMPTY_MATRIX = Context(vars={}, env={}, matrix={})


@pytest.mark.parametrize("text, ctx, message", [
    ("${{ vars.a ${{ vars.n }} }}", CTX,
     "'${{' inside an expression; close each '${{' with '}}'"),
    ("${{ env.MISSING }}", NESTED, "environment variable MISSING is not set (write "
                                   "'${{ env.MISSING | default(...) }}' to give a fallback)"),
    ("${{ env.A.B }}", CTX, "'env.A.B' must name one environment variable, like env.NAME"),
    ("${{ vars.n | up-per }}", CTX, "invalid filter 'up-per'"),
    ("${{ matrix.model }}", NO_MATRIX, "'matrix.model' is used in a document that has no matrix"),
    ("${{ matrix.x }}", EMPTY_MATRIX, "the matrix has no key 'x'; keys: none"),
    ("${{ matrix.k.b }}", NESTED, "'matrix.k' has no key 'b'"),
    ("${{ vars.nested.kee }}", NESTED, "'vars.nested' has no key 'kee' (did you mean 'key'?)"),
])
def test_more_errors_name_what_is_wrong(text: str, ctx: Context, message: str) -> None:
    with pytest.raises(TemplateError) as exc:
        render(text, ctx)
    assert str(exc.value) == message


def test_escaped_expressions_stay_literal_around_real_ones() -> None:
    assert render("a $${{ x }} b ${{ vars.n }} c $${{ y }}") == "a ${{ x }} b 3 c ${{ y }}"
    assert render("$${{ only.literal }}") == "${{ only.literal }}"


def test_templated_paths_name_every_templated_string_in_a_tree() -> None:
    from evalspec.spec.template import templated_paths

    tree = compile_tree({"a": "x ${{ vars.n }}", "b": ["${{ vars.n }}", "plain"],
                         "c": {"d": "${{ matrix.model }}"}, "e": "plain"})
    assert templated_paths(tree) == [("a",), ("b", 0), ("c", "d")]


def test_a_leaf_hook_sees_only_strings_without_expressions() -> None:
    seen: list[tuple[object, str]] = []

    def leaf(path, text):
        seen.append((path, text))
        return "replaced"

    tree = compile_tree({"a": "${{ vars.n }}", "b": "plain"}, leaf=leaf)
    assert seen == [(("b",), "plain")]
    errors: list = []
    assert (render_tree(tree, CTX, errors), errors) == ({"a": 3, "b": "replaced"}, [])


def test_an_escaped_opener_without_a_closer_is_text_not_an_error() -> None:
    assert compile_string("cost $${{ per row") == "cost $${{ per row"
    assert render("${{ vars.n }} then $${{ more") == "3 then $${{ more"
