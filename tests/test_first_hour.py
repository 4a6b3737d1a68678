"""Mistakes a new user makes that used to pass silently: each is now said, at its place."""

from __future__ import annotations

SWEEP = """\
kind: Evaluation
name: faq-${{ matrix.model | slug }}
matrix:
  model: ${{ vars.models }}
data: [{q: a}]
tasks:
  - task_type: chat_completion
    configuration:
      model: ${{ matrix.model }}
      messages: [{role: user, content: item.q}]
"""


def _config(models: str, extra: str = "") -> str:
    return f"project: demo\nvars:\n  models: {models}\n{extra}"


def test_a_misspelled_model_is_warned_with_the_nearest_known_name(project, run) -> None:
    root = project({"specs/a.yaml": SWEEP},
                   _config("[openai/gpt4o, anthropic/claude-3-5-sonet, openai/gpt-4o]"))
    result = run("validate", cwd=root)
    where = "specs/a.yaml:9:14: $.tasks[0].configuration.model: warning:"
    assert (result.code, result.err) == (0, (
        f"{where} model 'anthropic/claude-3-5-sonet' is not one evalspec knows (did you mean "
        "'anthropic/claude-3-5-sonnet'?); if the name is right, list it in "
        "policy.allowed_models\n"
        f"{where} model 'openai/gpt4o' is not one evalspec knows (did you mean "
        "'openai/gpt-4o'?); if the name is right, list it in policy.allowed_models\n"))


def test_a_model_the_catalogue_lacks_is_a_warning_and_allowed_models_names_it(project,
                                                                              run) -> None:
    root = project({"specs/a.yaml": SWEEP}, _config("[acme/brand-new-model]"))
    result = run("validate", cwd=root)
    assert result.code == 0
    assert result.err == (
        "specs/a.yaml:9:14: $.tasks[0].configuration.model: warning: model "
        "'acme/brand-new-model' is not one evalspec knows; if the name is right, list it in "
        "policy.allowed_models\n")
    # An exact name in allowed_models is known; a glob there does not make every name known.
    named = project({"specs/a.yaml": SWEEP}, _config(
        "[acme/brand-new-model]", "policy:\n  allowed_models: [acme/brand-new-model]\n"))
    assert run("validate", cwd=named).err == ""
    globbed = project({"specs/a.yaml": SWEEP}, _config(
        "[openai/gpt4o]", "policy:\n  allowed_models: ['openai/*']\n"))
    assert "model 'openai/gpt4o' is not one evalspec knows" in run("validate",
                                                                    cwd=globbed).err


def test_every_model_the_examples_and_init_use_is_known() -> None:
    import re

    from evalspec.spec.checks import known_models
    from tests.conftest import ROOT

    used = set()
    for path in [*ROOT.glob("examples/**/*.yaml"), *ROOT.glob("evalspec/scaffold/**/*.yaml")]:
        used |= set(re.findall(r"\b(?:openai|anthropic)/[a-z0-9.-]+", path.read_text()))
    assert used and used <= known_models(), used - known_models()
