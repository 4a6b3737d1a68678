"""Typed models of evalspec.yaml and of the resource documents, after templating.

These are the single source of truth: the JSON Schema in ``schemas/`` is generated from them
(:mod:`evalspec.spec.schema`) and every expanded instance is validated by them. Models are strict
(``"0.5"`` is not a number) and frozen, and reject unknown keys.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
    ValidationError,
    model_validator,
)

from evalspec.spec.fields import (
    DEFAULT_SPECS,
    ENDPOINT_PATTERN,
    ENV_NAME_PATTERN,
    PROJECT_PATTERN,
    FileRef,
    JsonObject,
    Name,
    Tag,
    _Strict,
)
from evalspec.spec.tasks import ChatCompletionDefaults, ChatCompletionDefaultsType, Task, Text


class Lifecycle(_Strict):
    """How plan treats the object."""

    protect: bool = Field(False, description="Fail the plan rather than archive or replace it.")
    ignore_fields: list[Literal["description", "tags", "metadata"]] = Field(
        default_factory=list, description="Drift in these fields is not corrected."
    )
    moved_from: list[Name] = Field(
        default_factory=list, description="Earlier names: a rename updates in place."
    )


class DatasetRef(_Strict):
    id: Annotated[str, Field(min_length=1)]


class _Document(_Strict):
    apiVersion: Literal["evalspec/v1"] = Field(
        "evalspec/v1", description="Version of the document format; optional.")
    name: Name
    lifecycle: Lifecycle = Field(default_factory=lambda: Lifecycle(), description=(
        "How plan treats this object: protect, ignore_fields, moved_from."))


class _Resource(_Document):
    description: Annotated[str, Field(max_length=280)] | None = Field(
        None, description="Shown on the platform; at most 280 characters.")
    tags: list[Tag] = Field(default_factory=list, description=(
        "Tags on the platform object; evalspec adds its own ownership tag."))


class Dataset(_Resource):
    """Rows that evaluations can share."""

    kind: Literal["Dataset"]
    items: Annotated[list[JsonObject], Field(min_length=1)] | FileRef = Field(description=(
        "The rows: a list of mappings, or file:// of a .jsonl, .json, .csv or .yaml file."))
    key: Annotated[str, Field(min_length=1)] | None = Field(
        default=None, description="Item field that identifies an item (enables item-level sync)."
    )
    files: list[dict[str, str]] | None = Field(None, description=(
        "Files attached to the items: one mapping per row, in the order of the rows. "
        "Sent when the dataset is created; not with 'key' (item-level sync does not carry "
        "files)."))

    @model_validator(mode="after")
    def _files_without_key(self) -> Dataset:
        if self.files is not None and self.key is not None:
            raise ValueError("files cannot be used with 'key': item-level sync does not carry "
                             "files; drop 'key' to replace the dataset when its files change")
        return self


class Evaluation(_Resource):
    """An evaluation: tasks run over rows (inline, from a file, or from a Dataset)."""

    kind: Literal["Evaluation"]
    metadata: JsonObject = Field(default_factory=dict, description=(
        "Free-form metadata; keys starting with 'evalspec.' are reserved."))
    matrix: JsonObject | None = Field(
        default=None, description="Axes to sweep: one evaluation per combination."
    )
    data: Annotated[list[JsonObject], Field(min_length=1)] | FileRef | None = Field(
        None, description="Inline rows, or file:// of a rows file (instead of 'dataset').")
    dataset: Name | DatasetRef | None = Field(
        default=None, description="Name of a Dataset document, or {id: ...} of an existing one."
    )
    tasks: list[Task] = Field(default_factory=list, description=(
        "What runs per row, by task_type; each result column is named by its alias."))
    repeats: Annotated[int, Field(ge=1, le=100)] = Field(1, description=(
        "Run every row this many times (sampled outputs vary): each copy carries "
        "evalspec_repeat (0, 1, ...) and evalspec_row, and report treats a row's copies as one "
        "row, with the variance within and between rows. Needs rows in 'data'."))
    files: list[dict[str, str]] | None = Field(None, description=(
        "Files attached to the rows: one mapping per row of 'data', in order."))
    skip_prefilled_rows: bool | None = Field(None, description=(
        "Do not queue a contributor task for rows whose answer is prefilled."))
    taxonomy_params: JsonObject | None = Field(None, description=(
        "Taxonomy parameters, stored as the evaluation's taxonomy."))

    @model_validator(mode="after")
    def _one_source(self) -> Evaluation:
        if (self.data is None) == (self.dataset is None):
            raise ValueError("exactly one of 'data' or 'dataset' is required")
        if self.repeats > 1 and self.dataset is not None:
            raise ValueError("repeats needs rows in 'data': a dataset's items are sent once")
        if self.files is not None and self.dataset is not None:
            raise ValueError("files needs rows in 'data': the platform attaches a dataset's "
                             "files to its items")
        return self


class Versus(_Strict):
    """A comparison with a margin: which member, and by how much (in the score's units)."""

    member: Text = Field(description="The member compared with (the baseline).")
    margin: Annotated[float, Field(ge=0)] = Field(description=(
        "no_regression_vs: how much worse may still count as no worse (non-inferiority); "
        "better_than: by how much it must be better (superiority)."))


class Gate(_Strict):
    """A rule 'evalspec check' holds a group's scores to (see docs/report.md)."""

    score: Text = Field(description="The score column: a scoring task's alias, e.g. rouge.")
    members: list[Text] | None = Field(None, description=(
        "Names or globs of the members the rule applies to; default every member (every "
        "member but the baseline for no_regression_vs)."))
    min: float | None = Field(None, description="Each member's mean must be at least this.")
    max: float | None = Field(None, description="Each member's mean must be at most this.")
    no_regression_vs: Text | Versus | None = Field(None, description=(
        "A member: no member may score significantly worse than it (paired test). "
        "{member, margin}: each member must be shown no worse than it by more than the margin "
        "(the one-sided lower bound of the difference above -margin)."))
    better_than: Versus | None = Field(None, description=(
        "{member, margin}: each member must be shown better than it by more than the margin "
        "(the one-sided lower bound of the difference above +margin)."))
    alpha: Annotated[float, Field(gt=0, lt=1)] = Field(
        0.05, description="Significance level for no_regression_vs and better_than.")
    max_missing_rows: Annotated[int, Field(ge=0)] | None = Field(
        None, description=(
            "Most rows a member may lack a score for in this score column: rows without an "
            "item, and items failed, pending or unscored (each kind is shown)."))
    unscored: Literal["missing", "zero"] = Field("missing", description=(
        "An output the score cannot read (a judge's answer that is none of its choices): "
        "'missing' counts the row as lacking a score; 'zero' scores it 0, a failure."))

    @model_validator(mode="after")
    def _one_comparison(self) -> Gate:
        if self.no_regression_vs is not None and self.better_than is not None:
            raise ValueError("a gate compares with one member: no_regression_vs or "
                             "better_than, not both")
        return self

    @property
    def compared_with(self) -> str | None:
        """The member no_regression_vs or better_than compares with."""
        versus = self.better_than or self.no_regression_vs
        return versus.member if isinstance(versus, Versus) else versus

    @property
    def margin(self) -> float | None:
        """The margin of the comparison; None for the plain no_regression_vs."""
        versus = self.better_than or self.no_regression_vs
        return versus.margin if isinstance(versus, Versus) else None


class EvaluationGroup(_Resource):
    """Evaluations compared row by row."""

    kind: Literal["EvaluationGroup"]
    metadata: JsonObject = Field(default_factory=dict, description=(
        "Free-form metadata; keys starting with 'evalspec.' are reserved."))
    members: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)] = Field(
        description="Evaluation names or glob patterns such as 'faq-*'."
    )
    row_identifier: str | dict[str, str] | None = Field(
        default=None,
        description="Item column joining rows across members; or a mapping pattern -> column.",
    )
    cluster_by: Text | None = Field(None, description=(
        "An item column whose rows share a source (paraphrases of one question, say): report "
        "and check treat rows with the same value as a cluster, with cluster-robust intervals "
        "and tests (docs/report.md)."))
    gates: list[Gate] = Field(default_factory=list, description=(
        "Rules 'evalspec check' holds this group's scores to; never sent to the platform."))


# --- questions and rubrics (API.md §9) ------------------------------------------------------

class CategoricalConfig(_Strict):
    choices: Annotated[list[Text], Field(min_length=1)] = Field(description="The answers.")
    dropdown: bool | None = None
    multi: bool | None = Field(None, description="Several answers may be chosen.")


class RatingConfig(_Strict):
    min_label: str
    max_label: str
    steps: Annotated[int, Field(ge=2)] = Field(description="Points on the scale.")


class NumberConfig(_Strict):
    min: float | None = None
    max: float | None = None


class FreeTextConfig(_Strict):
    min_length: Annotated[int, Field(ge=0)] | None = None
    max_length: Annotated[int, Field(ge=1)] | None = None


class FormConfig(_Strict):
    form_schema: JsonObject = Field(description="A JSON Schema of the form.")


class TimestampConfig(_Strict):
    multi: bool | None = None


QUESTION_CONFIGS: dict[str, tuple[type[_Strict], bool]] = {  # (configuration, required)
    "categorical": (CategoricalConfig, True), "rating": (RatingConfig, True),
    "number": (NumberConfig, False), "free_text": (FreeTextConfig, False),
    "form": (FormConfig, True), "timestamp": (TimestampConfig, False),
}


class Question(_Document):
    """A question for human raters or an LLM judge. Its type, prompt, configuration and
    conditions are fixed on the platform: changing one replaces the question, and the tasks
    that use it change with it. Tasks name it in question_id."""

    kind: Literal["Question"]
    question_type: Literal["categorical", "rating", "number", "free_text", "form",
                           "timestamp"] = Field(description="What kind of answer it takes.")
    prompt: Text = Field(description="What the rater is asked.")
    configuration: JsonObject | None = Field(None, description=(
        "By question_type: categorical {choices, multi, dropdown}; rating {min_label, "
        "max_label, steps}; number {min, max}; free_text {min_length, max_length}; form "
        "{form_schema}; timestamp {multi}."))
    conditions: list[JsonObject] | None = Field(None, description=(
        "When the question is shown, as the platform reads them."))

    @model_validator(mode="after")
    def _configuration(self) -> Question:
        model, required = QUESTION_CONFIGS[self.question_type]
        if self.configuration is None:
            if required:
                raise ValueError(f"a {self.question_type} question needs a configuration")
        else:
            try:
                model.model_validate(self.configuration)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in ("configuration", *first["loc"]))
                raise ValueError(f"{where}: {first['msg']} (a {self.question_type} "
                                 "question)") from None
        return self


class Criterion(_Strict):
    title: Text = Field(description="What the criterion asks.")
    weight: float | None = Field(None, description="Its weight in the score.")
    annotations: JsonObject | None = Field(None, description="Free-form notes.")


class Rubric(_Document):
    """A rubric: criteria with weights. Tasks name it in rubric_id. Its name is its title on
    the platform; criteria changed or added update it in place (a new version of each)."""

    kind: Literal["Rubric"]
    tags: list[Tag] = Field(default_factory=list, description=(
        "Tags on the rubric; evalspec adds its own ownership tags."))
    criteria: Annotated[list[Criterion], Field(min_length=1)] = Field(
        description="The criteria, in order.")


Resource = Dataset | Evaluation | EvaluationGroup | Question | Rubric
KINDS: dict[str, type[_Document]] = {
    "Dataset": Dataset, "Evaluation": Evaluation, "EvaluationGroup": EvaluationGroup,
    "Question": Question, "Rubric": Rubric,
}


# --- evalspec.yaml --------------------------------------------------------------------------

RULES = ("allowed_models", "required_tags", "max_evaluations", "max_items_per_evaluation",
         "temperature")


class TemperatureRange(_Strict):
    """Bounds for every chat_completion temperature."""

    min: float = Field(0, description="Lowest allowed temperature.")
    max: float = Field(2, description="Highest allowed temperature.")


class Policy(_Strict):
    """Checks every plan must pass."""

    allowed_models: list[str] | None = Field(None, description="Globs of allowed models.")
    required_tags: list[str] | None = Field(
        None, description="Globs; each must match a tag of every evaluation."
    )
    max_evaluations: Annotated[int, Field(ge=1)] = Field(1000, description=(
        "Most evaluations the project may hold, after matrix expansion."))
    max_items_per_evaluation: Annotated[int, Field(ge=1)] | None = Field(
        None, description="Most rows one evaluation may run over.")
    temperature: TemperatureRange | None = Field(
        None, description="Bounds for every chat_completion temperature.")
    enforcement: dict[Literal[RULES], Literal["mandatory", "advisory"]] = Field(  # type: ignore[valid-type]
        default_factory=dict, description="Rules default to mandatory."
    )


class Defaults(_Strict):
    """Merged under every Evaluation."""

    tags: list[Tag] = Field(default_factory=list, description=(
        "Added to every evaluation's tags."))
    metadata: JsonObject = Field(default_factory=dict, description=(
        "Merged under every evaluation's metadata (the document wins)."))
    description: Annotated[str, Field(max_length=280)] | None = Field(
        None, description="Used where an evaluation has none.")
    configuration: ChatCompletionDefaultsType = Field(
        default_factory=ChatCompletionDefaults, description=(
            "Merged under every chat_completion task's configuration (the task wins)."))


class ProjectConfig(_Strict):
    """evalspec.yaml: the project's settings; its directory is the project root."""

    project: Annotated[str, Field(pattern=PROJECT_PATTERN)] = Field(description=(
        "The project's name, stamped on everything it manages (tag evalspec:<project>). May "
        "use ${{ vars.NAME }} for environments on one account: each name is its own project."))
    endpoint: Annotated[str, Field(pattern=ENDPOINT_PATTERN)] | None = Field(
        None, description="'local' or the platform's URL; never credentials.")
    specs: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)] = Field(
        default_factory=lambda: list(DEFAULT_SPECS),
        description="Globs of spec files, relative to the project root.",
    )
    vars: JsonObject = Field(default_factory=dict, description=(
        "Values for ${{ vars.NAME }}; overridden by EVALSPEC_VAR_NAME, --var-file, --var."))
    gates: list[Gate] = Field(default_factory=list, description=(
        "Rules 'evalspec check' holds every group's scores to."))
    env: list[Annotated[str, Field(pattern=ENV_NAME_PATTERN)]] = Field(
        default_factory=list, description=(
            "The environment variables specs may read as ${{ env.NAME }}, matched exactly; "
            "no other is visible. Credentials can never be declared."))
    defaults: Defaults = Field(default_factory=lambda: Defaults(), description=(
        "Merged under every Evaluation."))
    policy: Policy = Field(default_factory=lambda: Policy(), description=(
        "Checks every plan must pass."))
