"""Questions and rubrics on the local platform, driven by scale-gp-beta over a socket: every
method the SDK has for them, the shapes its types read back, and the bodies its types refuse."""

from __future__ import annotations

import pytest
import scale_gp_beta
from scale_gp_beta.types import (
    CategoricalQuestion,
    FormQuestion,
    FreeTextQuestion,
    NumberQuestion,
    RatingQuestion,
    RubricResponse,
    TimestampQuestion,
)

QUESTIONS = [
    ({"question_type": "categorical", "name": "tone", "prompt": "Tone?",
      "configuration": {"choices": ["kind", "rude"], "multi": False}}, CategoricalQuestion),
    ({"question_type": "rating", "name": "quality", "prompt": "How good?",
      "configuration": {"min_label": "bad", "max_label": "great", "steps": 5}}, RatingQuestion),
    ({"question_type": "number", "name": "errors", "prompt": "How many errors?",
      "configuration": {"min": 0, "max": 10}}, NumberQuestion),
    ({"question_type": "free_text", "name": "notes", "prompt": "Notes",
      "conditions": [{"question": "tone", "equals": "rude"}]}, FreeTextQuestion),
    ({"question_type": "form", "name": "form", "prompt": "Fill in",
      "configuration": {"form_schema": {"type": "object"}}}, FormQuestion),
    ({"question_type": "timestamp", "name": "when", "prompt": "When?"}, TimestampQuestion),
]


@pytest.mark.parametrize(("body", "model"), QUESTIONS, ids=[q[0]["question_type"]
                                                          for q in QUESTIONS])
def test_each_question_type_round_trips_as_the_sdks_type(sdk, body, model) -> None:
    created = sdk.questions.create(question=body)
    assert isinstance(created, model)
    assert (created.name, created.prompt, created.question_type) == (
        body["name"], body["prompt"], body["question_type"])
    fetched = sdk.questions.retrieve(created.id)
    assert fetched.model_dump() == created.model_dump()
    assert [q.id for q in sdk.questions.list()] == [created.id]


def test_a_question_changes_only_its_name_and_archives_and_restores(sdk) -> None:
    question = sdk.questions.create(question=QUESTIONS[0][0])
    renamed = sdk.questions.update(question.id, name="tone-2")
    assert (renamed.name, renamed.prompt) == ("tone-2", "Tone?")
    with pytest.raises(scale_gp_beta.UnprocessableEntityError, match="only a question's name"):
        sdk.questions.update(question.id, name="x", extra_body={"prompt": "new"})
    archived = sdk.questions.archive(question.id)
    assert archived.archived_at is not None
    assert list(sdk.questions.list()) == []
    assert [q.id for q in sdk.questions.list(include_archived=True)] == [question.id]
    with pytest.raises(scale_gp_beta.BadRequestError, match="restore it first"):
        sdk.questions.update(question.id, name="y")
    assert sdk.questions.restore(question.id).archived_at is None
    other = sdk.questions.create(question=QUESTIONS[1][0])
    assert [q.id for q in sdk.questions.list(ids=[other.id])] == [other.id]


@pytest.mark.parametrize("body", [
    {"question_type": "categorical", "name": "x", "prompt": "p"},  # no configuration
    {"question_type": "categorical", "name": "x", "prompt": "p", "configuration": {}},
    {"question_type": "rating", "name": "x", "prompt": "p",
     "configuration": {"min_label": "a", "max_label": "b", "steps": "five"}},
    {"question_type": "number", "prompt": "p"},  # no name
    {"question_type": "free_text", "name": "x"},  # no prompt
    {"question_type": "essay", "name": "x", "prompt": "p"},
    {"name": "x", "prompt": "p"},
    {"question_type": "form", "name": "x", "prompt": "p", "configuration": {"form_schema": 3}},
])
def test_bodies_the_sdks_types_refuse_are_422(sdk, body) -> None:
    with pytest.raises(scale_gp_beta.UnprocessableEntityError):
        sdk.questions.create(question=body)
    assert list(sdk.questions.list(include_archived=True)) == []


def test_rubrics_with_criteria_versions_and_archive(sdk) -> None:
    rubric = sdk.rubrics.create(title="Helpful", tags=["t"], criteria=[
        {"title": "Answers the question", "weight": 2.0},
        {"title": "Cites a source", "annotations": {"hint": "links"}}])
    assert isinstance(rubric, RubricResponse)
    assert (rubric.version, [c.title for c in rubric.criteria]) == (
        1, ["Answers the question", "Cites a source"])
    listed = list(sdk.rubrics.list(tags=["t"]))
    assert [r.id for r in listed] == [rubric.id]
    assert listed[0].criteria[0].model_dump(exclude_none=True) == {
        "title": "Answers the question", "weight": 2.0}  # the slim summary on list
    assert list(sdk.rubrics.list(title="help"))[0].id == rubric.id
    assert list(sdk.rubrics.list(tags=["other"])) == []

    updated = sdk.rubrics.update(rubric.id, rubric={"title": "Helpful v2"})
    assert (updated.title, updated.version, updated.tags) == ("Helpful v2", 2, ["t"])
    first = rubric.criteria[0]
    changed = sdk.rubrics.criteria.update(first.id, rubric_id=rubric.id, weight=3.0)
    assert (changed.version, changed.title, changed.weight) == (2, "Answers the question", 3.0)
    added = sdk.rubrics.criteria.create(rubric.id, title="Is polite")
    versions = sdk.rubrics.criteria.list_versions(first.id, rubric_id=rubric.id)
    assert [v.version for v in versions.items] == [2, 1]
    current = sdk.rubrics.retrieve(rubric.id)
    assert [(c.title, c.weight) for c in current.criteria] == [
        ("Answers the question", 3.0), ("Cites a source", None), ("Is polite", None)]
    assert added.id in [c.id for c in current.criteria]

    assert sdk.rubrics.archive(rubric.id).deleted is True
    assert list(sdk.rubrics.list()) == []
    assert sdk.rubrics.retrieve(rubric.id).archived_at is not None
    with pytest.raises(scale_gp_beta.BadRequestError, match="restore it first"):
        sdk.rubrics.update(rubric.id, rubric={"title": "x"})
    restored = sdk.rubrics.update(rubric.id, rubric={"restore": True})
    assert restored.archived_at is None


@pytest.mark.parametrize("body", [
    {"criteria": [{"title": "x"}]},  # no title
    {"title": "x", "criteria": []},
    {"title": "x", "criteria": [{"weight": 1}]},
    {"title": "x", "tags": "t"},
    {"title": 3},
])
def test_rubric_bodies_the_sdks_types_refuse_are_422(http, body) -> None:
    response = http.post("/v5/rubrics", json=body)
    assert response.status_code == 422, response.text
