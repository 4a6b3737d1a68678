"""Questions and rubrics as code, end to end: examples/human-review validated, planned and
applied against the local platform over a socket, read back with scale-gp-beta, changed in
every way the platform allows, refused where a saved plan is tampered with, and destroyed."""

from __future__ import annotations

import json

import pytest

from tests.conftest import edit
from tests.test_conformance import SECOND_QUESTION
from tests.test_plan_apply import apply, apply_saved, plan, plan_json

EXPECTED_PLAN = """\
evalspec will perform the following actions:

  # Question/accuracy will be created
  + Question/accuracy
      + categorical: "Is the answer accurate for this customer question?"
      + choices: ["accurate", "partly accurate", "inaccurate"]

  # Rubric/support-answer will be created
  + Rubric/support-answer
      + tags: ["support"]
      + criteria: 3

  # Evaluation/support-answers-review will be created: starts 8 task executions over 2 models
  + Evaluation/support-answers-review
      + description: "Raters review gpt-4o-mini's support answers."
      + items: 4
      + task answer: chat_completion openai/gpt-4o-mini
      + task judge: auto_evaluation.question openai/gpt-4o, question_id (known after apply: \
Question/accuracy)
      + task rater: contributor_evaluation.question, question_id (known after apply: \
Question/accuracy), rubric_id (known after apply: Rubric/support-answer)

Plan: 3 to create, 0 to update, 0 to replace, 0 to restore, 0 to archive. Starts 8 task \
executions.
"""


def _evaluation(sdk):
    [evaluation] = [e for e in sdk.evaluations.list(views=["tasks"])]
    return evaluation


def _tasks(evaluation) -> dict[str, dict]:
    return {t.alias: t.configuration.model_dump(exclude_none=True) for t in evaluation.tasks}


def test_human_review_applies_and_the_sdk_reads_the_question_and_rubric(
        workdir, platform, run, sdk) -> None:
    root = workdir("human-review")
    assert run("validate", str(root)).out == (
        "Valid: 0 datasets, 1 evaluation from 1 spec, 0 groups, 1 question, 1 rubric.\n")
    assert plan(run, root, platform.url).out == EXPECTED_PLAN
    result = apply(run, root, platform.url)
    assert result.code == 0, result.err
    assert "Apply complete: 3 done, 0 failed, 0 skipped." in result.out

    [question] = list(sdk.questions.list())
    assert (question.name, question.question_type, question.prompt) == (
        "evalspec:human-review/accuracy", "categorical",
        "Is the answer accurate for this customer question?")
    assert question.configuration.choices == ["accurate", "partly accurate", "inaccurate"]
    [rubric] = list(sdk.rubrics.list(tags=["evalspec:human-review"]))
    full = sdk.rubrics.retrieve(rubric.id)
    assert (full.title, [(c.title, c.weight) for c in full.criteria]) == ("support-answer", [
        ("Answers the question that was asked", 2.0),
        ("States nothing false about the product", 3.0),
        ("Tells the customer what to do next", None)])
    assert "support" in full.tags
    tasks = _tasks(_evaluation(sdk))
    assert tasks["judge"]["question_id"] == question.id
    assert (tasks["rater"]["question_id"], tasks["rater"]["rubric_id"]) == (
        question.id, rubric.id)
    again = plan(run, root, platform.url)
    assert (again.code, again.out) == (0, "No changes. The platform matches the specs.\n")


def test_a_second_contributor_question_is_added_in_place(workdir, platform, run, sdk) -> None:
    root = workdir("human-review")
    assert apply(run, root, platform.url).code == 0
    before = _evaluation(sdk).id
    spec = root / "specs" / "review.yaml"
    spec.write_text(spec.read_text() + SECOND_QUESTION)
    shown = plan(run, root, platform.url).out
    assert ("  # Evaluation/support-answers-review will be updated in place (contributor "
            "question task tone added: contributors answer on the existing items; the "
            "evaluation, its items and their answers are kept)") in shown
    assert "Plan: 1 to create, 1 to update, 0 to replace" in shown
    assert ("      + task tone: contributor_evaluation.question, question_id (known after "
            "apply: Question/tone)\n") in shown
    assert apply(run, root, platform.url).code == 0
    evaluation = _evaluation(sdk)
    assert evaluation.id == before
    tone = next(q for q in sdk.questions.list() if q.name == "evalspec:human-review/tone")
    assert _tasks(evaluation)["tone"]["question_id"] == tone.id
    assert plan(run, root, platform.url).out.startswith("No changes.")


def test_a_changed_question_is_replaced_with_the_evaluations_that_use_it(
        workdir, platform, run, sdk) -> None:
    root = workdir("human-review")
    assert apply(run, root, platform.url).code == 0
    old_question = next(iter(sdk.questions.list()))
    old_evaluation = _evaluation(sdk).id
    edit(root / "specs" / "review.yaml", "choices: [accurate, partly accurate, inaccurate]",
         "choices: [accurate, inaccurate]")
    doc = plan_json(run, root, platform.url)
    assert [(a["action"], a["address"], a["reasons"]) for a in doc["actions"]] == [
        ("replace", "Question/accuracy",
         ["content changed: the platform changes only a question's name"]),
        ("replace", "Evaluation/support-answers-review", ["Question/accuracy replaced"])]
    assert apply(run, root, platform.url).code == 0
    [question] = list(sdk.questions.list())
    assert question.id != old_question.id
    assert question.configuration.choices == ["accurate", "inaccurate"]
    assert sdk.questions.retrieve(old_question.id).archived_at is not None
    evaluation = _evaluation(sdk)
    assert evaluation.id != old_evaluation
    assert _tasks(evaluation)["judge"]["question_id"] == question.id
    assert plan(run, root, platform.url).out.startswith("No changes.")


def test_a_question_only_raters_use_moves_their_task_in_place(
        workdir, platform, run, sdk) -> None:
    root = workdir("human-review")
    spec = root / "specs" / "review.yaml"
    spec.write_text(spec.read_text() + SECOND_QUESTION)
    assert apply(run, root, platform.url).code == 0
    before = _evaluation(sdk).id
    edit(spec, "steps: 5", "steps: 7")
    doc = plan_json(run, root, platform.url)
    assert [(a["action"], a["address"]) for a in doc["actions"]] == [
        ("replace", "Question/tone"), ("update", "Evaluation/support-answers-review")]
    assert doc["actions"][1]["reasons"] == [
        "contributor task tone changed in place (refused once its work is claimed)",
        "the evaluation, its items and their answers are kept"]
    assert apply(run, root, platform.url).code == 0
    evaluation = _evaluation(sdk)
    tone = next(q for q in sdk.questions.list() if q.name == "evalspec:human-review/tone")
    assert (evaluation.id, tone.configuration.steps) == (before, 7)
    assert _tasks(evaluation)["tone"]["question_id"] == tone.id
    assert plan(run, root, platform.url).out.startswith("No changes.")


def test_rubric_criteria_change_in_place_and_a_removed_one_replaces_it(
        workdir, platform, run, sdk) -> None:
    root = workdir("human-review")
    assert apply(run, root, platform.url).code == 0
    [rubric] = list(sdk.rubrics.list())
    evaluation = _evaluation(sdk).id
    spec = root / "specs" / "review.yaml"
    edit(spec, "  - title: Tells the customer what to do next",
         "  - title: Tells the customer what to do next\n    weight: 1\n  - title: Is polite")
    shown = plan(run, root, platform.url).out
    assert shown.splitlines()[2:7] == [
        "  # Rubric/support-answer will be updated in place (criteria changed: each change "
        "is a new version of the criterion)",
        "  ~ Rubric/support-answer",
        '      ~ criteria[2]: {"title": "Tells the customer what to do next", "weight": null} '
        '-> {"title": "Tells the customer what to do next", "weight": 1.0}',
        '      + criteria[3]: {"title": "Is polite"}',
        ""]
    assert "Plan: 0 to create, 1 to update, 0 to replace" in shown
    assert apply(run, root, platform.url).code == 0
    full = sdk.rubrics.retrieve(rubric.id)
    assert [(c.title, c.weight, c.version) for c in full.criteria] == [
        ("Answers the question that was asked", 2.0, 1),
        ("States nothing false about the product", 3.0, 1),
        ("Tells the customer what to do next", 1.0, 2), ("Is polite", None, 1)]
    assert plan(run, root, platform.url).out.startswith("No changes.")

    edit(spec, "  - title: Is polite\n", "")
    doc = plan_json(run, root, platform.url)
    assert [(a["action"], a["address"], a["reasons"]) for a in doc["actions"]] == [
        ("replace", "Rubric/support-answer",
         ["criteria removed (Is polite): the platform cannot delete a criterion"]),
        ("update", "Evaluation/support-answers-review",
         ["contributor task rater changed in place (refused once its work is claimed)",
          "the evaluation, its items and their answers are kept"])]
    assert apply(run, root, platform.url).code == 0
    [new] = list(sdk.rubrics.list())
    assert new.id != rubric.id and len(new.criteria) == 3
    assert sdk.rubrics.retrieve(rubric.id).archived_at is not None
    assert _evaluation(sdk).id == evaluation
    assert plan(run, root, platform.url).out.startswith("No changes.")


def test_rubric_criteria_changed_on_the_platform_are_put_back(workdir, platform, run,
                                                              sdk) -> None:
    root = workdir("human-review")
    assert apply(run, root, platform.url).code == 0
    [rubric] = list(sdk.rubrics.list())
    first = sdk.rubrics.retrieve(rubric.id).criteria[0]
    sdk.rubrics.criteria.update(first.id, rubric_id=rubric.id, weight=9.0)
    doc = plan_json(run, root, platform.url)
    assert [(a["action"], a["reasons"]) for a in doc["actions"]] == [
        ("update", ["criteria changed on the platform"])]
    assert apply(run, root, platform.url).code == 0
    assert sdk.rubrics.retrieve(rubric.id).criteria[0].weight == 2.0


def test_a_renamed_question_keeps_its_id_and_an_unmarked_one_is_left_alone(
        workdir, platform, run, sdk) -> None:
    root = workdir("human-review")
    stranger = sdk.questions.create(question={
        "question_type": "free_text", "name": "accuracy", "prompt": "Someone else's"})
    lookalike = sdk.questions.create(question={
        "question_type": "free_text", "name": "evalspec:other-project/accuracy",
        "prompt": "Another project's"})
    assert apply(run, root, platform.url).code == 0
    [ours] = [q for q in sdk.questions.list() if q.name.startswith("evalspec:human-review/")]
    spec = root / "specs" / "review.yaml"
    edit(spec, "name: accuracy\n", "name: correctness\nlifecycle: {moved_from: [accuracy]}\n")
    edit(spec, "question_id: accuracy", "question_id: correctness")  # both tasks
    doc = plan_json(run, root, platform.url)
    assert [(a["action"], a["address"], a["reasons"]) for a in doc["actions"]] == [
        ("update", "Question/correctness", []),
        ("update", "Evaluation/support-answers-review",
         ["a question or rubric it uses was renamed: its fingerprint is restamped"])]
    assert doc["actions"][0]["changes"] == [{
        "path": "name", "before": "evalspec:human-review/accuracy",
        "after": "evalspec:human-review/correctness"}]
    evaluation = _evaluation(sdk).id
    assert apply(run, root, platform.url).code == 0
    assert sdk.questions.retrieve(ours.id).name == "evalspec:human-review/correctness"
    assert _evaluation(sdk).id == evaluation
    assert plan(run, root, platform.url).out.startswith("No changes.")
    destroyed = run("destroy", str(root), "--endpoint", platform.url, "--auto-approve",
                    env={"EVALSPEC_API_KEY": "k"})
    assert destroyed.code == 0, destroyed.err
    assert sdk.questions.retrieve(ours.id).archived_at is not None
    for untouched in (stranger, lookalike):  # not the project's: never read, never archived
        assert sdk.questions.retrieve(untouched.id).archived_at is None
    assert list(sdk.rubrics.list()) == []


@pytest.mark.parametrize(("tamper", "message"), [
    (lambda body: body.update(name="accuracy"),
     "create Question/accuracy: its body names 'accuracy', not "
     "'evalspec:human-review/accuracy'"),
    (lambda body: body.update(title="other"),
     "create Rubric/support-answer: its body names 'other', not 'support-answer'"),
    (lambda body: body.update(tags=["support"]),
     "create Rubric/support-answer: its body lacks the tag evalspec:human-review"),
])
def test_a_tampered_saved_plan_for_questions_and_rubrics_is_refused(
        workdir, platform, run, sdk, tmp_path, tamper, message) -> None:
    root = workdir("human-review")
    saved = tmp_path / "plan.json"
    assert plan(run, root, platform.url, "-o", str(saved)).code == 0
    document = json.loads(saved.read_text())
    kind = message.split()[1].split("/")[0]
    action = next(a for a in document["actions"] if a["kind"] == kind)
    tamper(action["desired"]["body"])
    saved.write_text(json.dumps(document))
    result = apply_saved(run, saved, root, platform.url)
    assert result.code == 1
    assert message in result.err
    assert list(sdk.questions.list(include_archived=True)) == []
    assert list(sdk.rubrics.list()) == []


def test_a_rater_task_changed_after_work_is_claimed_points_at_replace(
        workdir, platform, run, sdk, http) -> None:
    root = workdir("human-review")
    assert apply(run, root, platform.url).code == 0
    evaluation = _evaluation(sdk)
    claimed = http.post(f"/_local/evaluations/{evaluation.id}/contributor-work",
                        json={"alias": "rater", "state": "claimed"})
    assert claimed.status_code == 200, claimed.text
    edit(root / "specs" / "review.yaml", "label: Answer}", "label: The answer}")
    shown = plan(run, root, platform.url).out
    assert "  # Evaluation/support-answers-review will be updated in place" in shown
    # A key that is not a letter of the message: what the key spells is redacted as ***.
    failed = run("apply", str(root), "--endpoint", platform.url, "--auto-approve",
                 env={"SGP_API_KEY": "test-key-0123456789", "SGP_ACCOUNT_ID": "default"})
    assert failed.code == 1
    assert ("contributor work on task 'rater' is already claimed: the evaluation's tasks can "
            "no longer be added or changed; the platform keeps a task's configuration once "
            "contributor work on it is claimed: run 'evalspec apply --replace "
            "Evaluation/support-answers-review' to start the evaluation over (its answers are "
            "archived with it)") in failed.out + failed.err
    assert _tasks(_evaluation(sdk))["rater"]["layout"]["children"][1]["label"] == "Answer"
    replaced = apply(run, root, platform.url, "--replace", "Evaluation/support-answers-review")
    assert replaced.code == 0, replaced.out + replaced.err
    after = _evaluation(sdk)
    assert after.id != evaluation.id
    assert _tasks(after)["rater"]["layout"]["children"][1]["label"] == "The answer"
    assert plan(run, root, platform.url).out.startswith("No changes.")


def test_criteria_pair_by_title_then_in_order() -> None:
    from evalspec.plan.review_diff import pair_criteria

    a, b, c, x = ({"title": t} for t in "abcx")
    assert pair_criteria([a, b, c], [b, a, c]) == ([1, 0, 2], [])  # moved
    assert pair_criteria([a, b], [a, x]) == ([0, 1], [])  # b renamed to x
    assert pair_criteria([a, b, c], [a, c]) == ([0, 2], [1])  # b removed
    assert pair_criteria([a, b], [x, a, b]) == ([None, 0, 1], [])  # x added first


def test_reordered_criteria_keep_their_ratings_in_place(workdir, platform, run, sdk) -> None:
    """Paired by position, moving a criterion would rewrite two criteria in place, and the
    ratings given under one would then read as ratings of the other."""
    root = workdir("human-review")
    assert apply(run, root, platform.url).code == 0
    [rubric] = list(sdk.rubrics.list())
    before = [(c.id, c.title, c.version) for c in sdk.rubrics.retrieve(rubric.id).criteria]
    spec = root / "specs" / "review.yaml"
    edit(spec, "  - title: Answers the question that was asked\n    weight: 2\n"
         "  - title: States nothing false about the product\n    weight: 3\n",
         "  - title: States nothing false about the product\n    weight: 3\n"
         "  - title: Answers the question that was asked\n    weight: 2\n")
    doc = plan_json(run, root, platform.url)
    [action] = [a for a in doc["actions"] if a["kind"] == "Rubric"]
    assert (action["action"], action["reasons"], action["changes"]) == (
        "update", ["criteria reordered in the specs: the platform keeps each criterion, and "
                   "the ratings given under it, in its place"], [])
    assert apply(run, root, platform.url).code == 0
    after = [(c.id, c.title, c.version) for c in sdk.rubrics.retrieve(rubric.id).criteria]
    assert after == before
    assert plan(run, root, platform.url).out.startswith("No changes.")
    # A title changed where it stands is still one criterion's new version.
    edit(spec, "title: Answers the question that was asked", "title: Answers the question")
    assert apply(run, root, platform.url).code == 0
    titles = {c.title: c.version for c in sdk.rubrics.retrieve(rubric.id).criteria}
    assert titles["Answers the question"] == 2 and "Answers the question that was asked" \
        not in titles
    assert plan(run, root, platform.url).out.startswith("No changes.")
