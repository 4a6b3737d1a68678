"""Typed models of evalspec.yaml and of the resource documents, after templating.

These are the single source of truth: the JSON Schema in ``schemas/`` is generated from them
(:mod:`evalspec.schema`) and every expanded instance is validated by them. Models are strict
(``"0.5"`` is not a number) and frozen, and reject unknown keys.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    create_model,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

# Patterns with the message a user sees when a value does not match; both the JSON Schema
# reporter and the pydantic reporter read this table so the two say the same thing.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
PROJECT_PATTERN = r"^[a-z0-9][a-z0-9-]{0,39}$"
MODEL_PATTERN = r"^[^/\s]+/\S+$"
LOCATOR_PATTERN = r"^item(\.[A-Za-z0-9_-]+)+$"
FILE_PATTERN = r"^file://.+"
TEMPLATE_PATTERN = r"\$\{\{"
ENDPOINT_PATTERN = r"^(local|https://[^\s@/]+(/\S*)?|http://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?(/\S*)?)$"
RESERVED_TAG_PATTERN = r"^evalspec[:.]"
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
FUNCTION_PATTERN = r"(?m)^\s*(async\s+)?def\s+\w+\s*\("

PATTERN_MESSAGES = {
    NAME_PATTERN: "must be 1-128 characters of letters, digits, '.', '_' or '-', starting "
    "with a letter or digit (use '| slug' to turn values like 'openai/gpt-4o' into names)",
    PROJECT_PATTERN: "must be 1-40 lowercase letters, digits or '-', starting with a letter "
    "or digit",
    MODEL_PATTERN: "must be 'vendor/model', for example 'openai/gpt-4o'",
    LOCATOR_PATTERN: "must be an item locator such as 'item.input'",
    FILE_PATTERN: "must be a file:// reference",
    ENDPOINT_PATTERN: "must be 'local' or an https:// URL without credentials "
    "(http:// only for localhost)",
    FUNCTION_PATTERN: "must define a Python function ('def name(item): ...'); its name titles "
    "the result column",
    ENV_NAME_PATTERN: "must be an environment variable name: letters, digits and '_', not "
    "starting with a digit",
}

TASK_TYPES = (
    "chat_completion",
    "inference",
    "application_variant",
    "agentex_output",
    "metric",
    "auto_evaluation.question",
    "auto_evaluation.guided_decoding",
    "auto_evaluation.agent",
    "contributor_evaluation.question",
    "custom_function",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


# --- literal-or-locator values ------------------------------------------------------------

_LOCATOR = re.compile(LOCATOR_PATTERN)


class _OrLocator:
    """Accept a value of the annotated type, or an item locator string (``item.question``)."""

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        inner = handler(schema)
        return {"anyOf": [inner, {"$ref": "#/$defs/ItemLocator"}]}


def _pass_locator(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    if isinstance(value, str) and _LOCATOR.match(value):
        return value
    return handler(value)


def lit(tp: Any, **constraints: Any) -> Any:
    """``tp`` (with constraints) or an item locator."""
    return Annotated[tp, Field(**constraints), WrapValidator(_pass_locator), _OrLocator()]


Name = Annotated[str, Field(pattern=NAME_PATTERN, description="Resource name.")]
Tag = Annotated[str, Field(min_length=1, max_length=256)]
JsonObject = dict[str, Any]
FileRef = Annotated[str, Field(pattern=FILE_PATTERN, description="file://relative/path")]


class Message(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True, frozen=True)

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[JsonObject] | None = None


_CHAT_REQUIRED: dict[str, Any] = {
    "model": Annotated[str, Field(pattern=MODEL_PATTERN, description="vendor/model")],
    "messages": Annotated[list[Message], Field(min_length=1)]
    | Annotated[str, Field(pattern=LOCATOR_PATTERN)],
}
_CHAT_OPTIONAL: dict[str, Any] = {
    "temperature": lit(float, ge=0, le=2),
    "top_p": lit(float, ge=0, le=1),
    "top_k": lit(int, ge=1),
    "max_tokens": lit(int, ge=1),
    "max_completion_tokens": lit(int, ge=1),
    "n": lit(int, ge=1, le=128),
    "frequency_penalty": lit(float, ge=-2, le=2),
    "presence_penalty": lit(float, ge=-2, le=2),
    "seed": lit(int),
    "stop": lit(str | list[str]),
    "logprobs": lit(bool),
    "top_logprobs": lit(int, ge=0, le=20),
    "logit_bias": lit(dict[str, float]),
    "metadata": lit(dict[str, str]),
    "modalities": lit(list[str]),
    "parallel_tool_calls": lit(bool),
    "store": lit(bool),
    "reasoning_effort": lit(Literal["minimal", "low", "medium", "high"]),
    "response_format": lit(JsonObject),
    "prediction": lit(JsonObject),
    "audio": lit(JsonObject),
    "function_call": lit(str | JsonObject),
    "functions": lit(list[JsonObject]),
    "tools": lit(list[JsonObject]),
    "tool_choice": lit(str | JsonObject),
}

# The chat_completion models and the task models are built from tables with create_model, which
# mypy cannot follow; for the type checker they are plain BaseModel subclasses.
ChatCompletionConfig: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "ChatCompletionConfig",
    __base__=_Strict,
    __doc__="Configuration of a chat_completion task; checked strictly.",
    **{k: (v, ...) for k, v in _CHAT_REQUIRED.items()},
    **{k: (v, None) for k, v in _CHAT_OPTIONAL.items()},
)
ChatCompletionDefaults: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "ChatCompletionDefaults",
    __base__=_Strict,
    __doc__="Configuration keys merged under every chat_completion task.",
    **{k: (v, None) for k, v in {**_CHAT_REQUIRED, **_CHAT_OPTIONAL}.items()},
)

CHAT_COMPLETION_KEYS = tuple(ChatCompletionConfig.model_fields)


class _OpenConfig(BaseModel):
    """Other task types: their required keys are checked, other keys pass to the platform."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)


class InferenceConfig(_OpenConfig):
    model: str


class ApplicationVariantConfig(_OpenConfig):
    application_variant_id: str
    inputs: JsonObject | str


class AgentexOutputConfig(_OpenConfig):
    agentex_agent_id: str
    input_column: str


Text = Annotated[str, Field(min_length=1)]
METRIC_TYPES = ("bleu", "meteor", "cosine_similarity", "f1", "rouge1", "rouge2", "rougeL")


class MetricConfig(_Strict):
    """Scores ``candidate`` against ``reference`` (item locators such as ``item.answer``,
    the output of an earlier task, and ``item.reference``, a column)."""

    type: Literal[METRIC_TYPES] = Field(  # type: ignore[valid-type]
        description="The metric: bleu, meteor, cosine_similarity, f1, rouge1, rouge2, rougeL.")
    candidate: Text = Field(description="What is scored: an item locator, e.g. item.answer.")
    reference: Text = Field(description="What it is scored against, e.g. item.reference.")


class AutoQuestionConfig(_Strict):
    """An LLM judge answers a question (by id) about each item."""

    model: Text = Field(description="The judge model.")
    prompt: Text = Field(description="What the judge is asked; may use {{ item.x }}.")
    question_id: Text = Field(description="The question the judge answers.")


class ConstCondition(_Strict):
    op: Literal["const"]
    value: str | float | bool


class VarCondition(_Strict):
    op: Literal["var"]
    path: Text = Field(description="An item locator whose value decides, e.g. item.should_run.")


RunCondition = Annotated[ConstCondition | VarCondition, Field(discriminator="op")]


class _JudgeBase(_Strict):
    model: Text = Field(description="The judge model.")
    prompt: Text = Field(description="What the judge is asked; may use {{ item.x }}.")
    system_prompt: Text | None = None
    inference_args: JsonObject | None = None
    run_condition: RunCondition | None = Field(
        None, description="Run only when a constant or an item value says so.")


class GuidedDecodingChoices(_JudgeBase):
    """The judge picks one of ``choices``."""

    choices: Annotated[list[Text], Field(min_length=2)] = Field(
        description="The answers the judge may give, e.g. [better, same, worse].")


class GuidedDecodingStructured(_JudgeBase):
    """The judge answers in the shape ``response_format`` describes."""

    response_format: JsonObject = Field(description="A JSON Schema response format.")


# Two forms, told apart by which key they have (choices or response_format).
GuidedDecodingConfig = GuidedDecodingChoices | GuidedDecodingStructured


class AgentConfig(_OpenConfig):
    name: str
    definition: str
    output_rules: list[str]


class ContributorQuestionConfig(_Strict):
    """A question for human raters."""

    layout: JsonObject = Field(description="How the question is laid out for raters.")
    question_id: Text
    prefill_from: Text | None = None
    queue_id: Text | None = None
    required: bool | None = None
    rubric_id: Text | None = None


class CustomFunctionOutput(_Strict):
    path: Text = Field(description="Dot path in the function's return value.")
    alias: Text | None = Field(None, description="Column title; defaults to the path.")


class CustomFunctionConfig(_Strict):
    """Runs a Python function per item; its name titles the result column."""

    function_source: Annotated[str, Field(pattern=FUNCTION_PATTERN)] = Field(
        description="Python source defining the function.")
    arg_mapping: dict[str, Text] | None = Field(
        None, description="Function parameter -> item locator.")
    config_args: JsonObject | None = None
    outputs: list[CustomFunctionOutput] | None = None


def _task(task_type: str, config: Any, doc: str) -> type[BaseModel]:
    title = "".join(part.title() for part in re.split(r"[._]", task_type)) + "Task"
    alias = Annotated[str, Field(min_length=1, max_length=128)] | None
    return create_model(
        title,
        __base__=_Strict,
        __doc__=doc,
        task_type=(Literal[task_type], ...),  # type: ignore[arg-type]
        alias=(alias, Field(None, description="Result column title; defaults to the task type.")),
        configuration=(config, ...),
    )


ChatCompletionTask = _task("chat_completion", ChatCompletionConfig, "Calls an LLM per item.")
InferenceTask = _task("inference", InferenceConfig, "Runs a model inference per item.")
ApplicationVariantTask = _task(
    "application_variant", ApplicationVariantConfig, "Runs an application variant per item."
)
AgentexOutputTask = _task("agentex_output", AgentexOutputConfig, "Runs an Agentex agent.")
MetricTask = _task("metric", MetricConfig, "Scores a candidate against a reference.")
AutoQuestionTask = _task(
    "auto_evaluation.question", AutoQuestionConfig, "An LLM judge answers a question."
)
GuidedDecodingTask = _task(
    "auto_evaluation.guided_decoding", GuidedDecodingConfig, "An LLM judge with fixed outputs."
)
AgentTask = _task("auto_evaluation.agent", AgentConfig, "An agent judge.")
ContributorQuestionTask = _task(
    "contributor_evaluation.question", ContributorQuestionConfig, "A question for human raters."
)
CustomFunctionTask = _task("custom_function", CustomFunctionConfig, "Runs a Python function.")

if TYPE_CHECKING:
    Task = BaseModel
    ChatCompletionDefaultsType = BaseModel
else:
    ChatCompletionDefaultsType = ChatCompletionDefaults
    Task = Annotated[
    ChatCompletionTask
    | InferenceTask
    | ApplicationVariantTask
    | AgentexOutputTask
    | MetricTask
    | AutoQuestionTask
    | GuidedDecodingTask
    | AgentTask
    | ContributorQuestionTask
    | CustomFunctionTask,
    Field(discriminator="task_type"),
    ]


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


class _Resource(_Strict):
    apiVersion: Literal["evalspec/v1"] = Field(
        "evalspec/v1", description="Version of the document format; optional.")
    name: Name
    description: Annotated[str, Field(max_length=280)] | None = Field(
        None, description="Shown on the platform; at most 280 characters.")
    tags: list[Tag] = Field(default_factory=list, description=(
        "Tags on the platform object; evalspec adds its own ownership tag."))
    lifecycle: Lifecycle = Field(default_factory=lambda: Lifecycle(), description=(
        "How plan treats this object: protect, ignore_fields, moved_from."))


class Dataset(_Resource):
    """Rows that evaluations can share."""

    kind: Literal["Dataset"]
    items: Annotated[list[JsonObject], Field(min_length=1)] | FileRef = Field(description=(
        "The rows: a list of mappings, or file:// of a .jsonl, .json, .csv or .yaml file."))
    key: Annotated[str, Field(min_length=1)] | None = Field(
        default=None, description="Item field that identifies an item (enables item-level sync)."
    )


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

    @model_validator(mode="after")
    def _one_source(self) -> Evaluation:
        if (self.data is None) == (self.dataset is None):
            raise ValueError("exactly one of 'data' or 'dataset' is required")
        return self


class Gate(_Strict):
    """A rule 'evalspec check' holds a group's scores to (see docs/report.md)."""

    score: Text = Field(description="The score column: a scoring task's alias, e.g. rouge.")
    members: list[Text] | None = Field(None, description=(
        "Names or globs of the members the rule applies to; default every member (every "
        "member but the baseline for no_regression_vs)."))
    min: float | None = Field(None, description="Each member's mean must be at least this.")
    max: float | None = Field(None, description="Each member's mean must be at most this.")
    no_regression_vs: Text | None = Field(None, description=(
        "A member: no member may score significantly worse than it (paired t-test, Holm)."))
    alpha: Annotated[float, Field(gt=0, lt=1)] = Field(
        0.05, description="Significance level for no_regression_vs.")
    max_missing_rows: Annotated[int, Field(ge=0)] | None = Field(
        None, description="Most rows a member may lack.")


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
    gates: list[Gate] = Field(default_factory=list, description=(
        "Rules 'evalspec check' holds this group's scores to; never sent to the platform."))


Resource = Dataset | Evaluation | EvaluationGroup
KINDS: dict[str, type[_Resource]] = {
    "Dataset": Dataset, "Evaluation": Evaluation, "EvaluationGroup": EvaluationGroup
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
        "The project's name, stamped on everything it manages (tag evalspec:<project>)."))
    endpoint: Annotated[str, Field(pattern=ENDPOINT_PATTERN)] | None = Field(
        None, description="'local' or the platform's URL; never credentials.")
    specs: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)] = Field(
        default_factory=lambda: ["specs/**/*.yaml", "specs/**/*.yml"],
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
