"""The task models: chat_completion configuration checked key by key, and each scoring task's
configuration after scale-gp-beta's task params, joined in one union chosen by task_type."""

# An optional key defaults to None (left out when sent) but null is not a value it takes, as in
# the SDK's types: its annotation is the value's type alone, which mypy reads as a bad default.
# mypy: disable-error-code="assignment,arg-type"

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    create_model,
)

from evalspec.spec.fields import (
    FUNCTION_PATTERN,
    LOCATOR_PATTERN,
    MODEL_PATTERN,
    JsonObject,
    _Strict,
    lit,
)


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
    "reasoning_effort": Annotated[str, Field(min_length=1, description=(
        "The model's reasoning effort, e.g. low, medium or high."))],
    "response_format": lit(JsonObject),
    "prediction": lit(JsonObject),
    "audio": lit(JsonObject),
    "function_call": lit(JsonObject),
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


Text = Annotated[str, Field(min_length=1)]
Locator = Annotated[str, Field(pattern=LOCATOR_PATTERN)]


class LaunchInferenceConfig(_Strict):
    num_retries: int = None
    timeout_seconds: int = None


class InferenceConfig(_Strict):
    """A model inference per item."""

    model: Text
    args: JsonObject | Locator = Field(None, description="Arguments, or an item locator.")
    inference_configuration: LaunchInferenceConfig | str = None


class HistoryPair(_Strict):
    request: str
    response: str
    session_data: JsonObject = None


class InitialState(_Strict):
    current_node: str
    state: JsonObject


class PartialTraceSpan(_Strict):
    duration_ms: int
    node_id: str
    operation_input: str
    operation_output: str
    operation_type: str
    start_timestamp: str
    workflow_id: str
    operation_metadata: JsonObject = None


class AgenticOverrides(_Strict):
    concurrent: bool = None
    initial_state: InitialState = None
    partial_trace: list[PartialTraceSpan] = None
    return_span: bool = None
    use_channels: bool = None


class KnowledgeBaseOverride(_Strict):
    type: Literal["knowledge_base_schema"] = None
    artifact_ids_filter: list[str] = None
    artifact_name_regex: list[str] = None


class ApplicationVariantConfig(_Strict):
    """An application variant per item."""

    application_variant_id: Text
    inputs: JsonObject | Locator = Field(description="Inputs, or an item locator.")
    history: list[HistoryPair] | Locator = None
    operation_metadata: JsonObject | Locator = None
    overrides: AgenticOverrides | dict[str, KnowledgeBaseOverride] | str = None


class AgentexOutputConfig(_Strict):
    """An Agentex agent per item."""

    agentex_agent_id: Text
    input_column: Text | JsonObject | list[Any] = Field(
        description="What the agent receives: a column or item locator, an object or a list.")
    agent_task_params: JsonObject | Locator = None
    completion_mode: Literal["first_message", "turn_quiescence"] = None
    deployment_id: str = None
    include_traces: lit(bool) = None  # type: ignore[valid-type]
    input_mode: Literal["text", "data"] = None
    quiescence_seconds: lit(int, ge=0) = None  # type: ignore[valid-type]
    timeout_seconds: lit(int, ge=1, le=1500) = Field(  # type: ignore[valid-type]
        None, description="At most 1500 (the platform's cap); the platform's default is 600.")


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


# Run conditions: the SDK's node types. Operands and sides are any value or a nested node,
# as the SDK types them; `op` is required here (the SDK lets it default, which would make
# `{left, right}` ambiguous between six operators).
class ConstCondition(_Strict):
    op: Literal["const"]
    value: str | float | bool = None


class VarCondition(_Strict):
    op: Literal["var"]
    path: Text = Field(description="An item locator whose value decides, e.g. item.should_run.")


class CompareCondition(_Strict):
    op: Literal["eq", "ne", "lt", "lte", "gt", "gte"]
    left: Any = Field(description="A value or a nested condition.")
    right: Any = Field(description="A value or a nested condition.")


class OperandsCondition(_Strict):
    op: Literal["and", "or", "not", "is_null", "is_not_null"]
    operands: list[Any] = Field(description="Values or nested conditions.")


class MembershipCondition(_Strict):
    op: Literal["in", "not_in"]
    left: Any
    operands: list[Any]


def _condition_op(value: Any) -> str | None:
    op = value.get("op") if isinstance(value, dict) else getattr(value, "op", None)
    return {"eq": "compare", "ne": "compare", "lt": "compare", "lte": "compare",
            "gt": "compare", "gte": "compare", "and": "operands", "or": "operands",
            "not": "operands", "is_null": "operands", "is_not_null": "operands",
            "in": "membership", "not_in": "membership"}.get(op, op) if isinstance(op, str) else None


RunCondition = Annotated[
    Annotated[ConstCondition, Tag("const")] | Annotated[VarCondition, Tag("var")]
    | Annotated[CompareCondition, Tag("compare")]
    | Annotated[OperandsCondition, Tag("operands")]
    | Annotated[MembershipCondition, Tag("membership")],
    Discriminator(_condition_op),
]


class _JudgeBase(_Strict):
    model: Text = Field(description="The judge model.")
    prompt: Text = Field(description="What the judge is asked; may use {{ item.x }}.")
    system_prompt: str = None
    inference_args: JsonObject = None
    run_condition: RunCondition = Field(
        None, description="Run only when the condition holds for the item.")


class GuidedDecodingChoices(_JudgeBase):
    """The judge picks one of ``choices``."""

    choices: Annotated[list[str], Field(min_length=1)] = Field(
        description="The answers the judge may give, e.g. [better, same, worse].")


class GuidedDecodingStructured(_JudgeBase):
    """The judge answers in the shape ``response_format`` describes."""

    response_format: JsonObject = Field(description="A JSON Schema response format.")


class DesignatedAgentConfig(_Strict):
    model: str = None
    temperature: float = None


class DesignatedAgent(_Strict):
    agent_name: Literal["APEAgent", "IFAgent", "TruthfulnessAgent", "BaseAgent"] = None
    config: DesignatedAgentConfig


class AgentConfig(_Strict):
    """An agent judge: a definition and rules for its output."""

    name: str
    definition: str
    output_rules: list[str]
    data_fields: list[str] = None
    designated_to: DesignatedAgent = None
    output_type: Literal["text", "integer", "float", "boolean"] = None
    output_values: list[str | float | bool] = None
    rubric_id: Text = Field(None, description="A rubric's id, or a Rubric's name.")
    rubric_version: int = None


# Three forms, told apart by their required keys (choices, response_format, or an agent's).
GuidedDecodingConfig = GuidedDecodingChoices | GuidedDecodingStructured | AgentConfig


class Component(_Strict):
    data: Locator = Field(description="The item field shown, e.g. item.answer.")
    label: str = None


class Container(_Strict):
    children: list[Container | Component]
    direction: Literal["row", "column"] = None


class ContributorQuestionConfig(_Strict):
    """A question for human raters."""

    layout: Container = Field(description="How the item is laid out for raters: "
                              "{children: [{data: item.x, label: ...}], direction: column}.")
    question_id: Text = Field(description="A question's id, or a Question's name.")
    prefill_from: Text = Field(None, description="A column that prefills the answer.")
    queue_id: Text = None
    required: bool = None
    rubric_id: Text = Field(None, description="A rubric's id, or a Rubric's name.")


class CustomFunctionOutput(_Strict):
    path: Text = Field(description="Dot path in the function's return value.")
    alias: Text = Field(None, description="Column title; defaults to the path.")


class CustomFunctionConfig(_Strict):
    """Runs a Python function per item; its name titles the result column."""

    function_source: Annotated[str, Field(pattern=FUNCTION_PATTERN)] = Field(
        description="Python source defining the function.")
    arg_mapping: dict[str, Text] = Field(
        None, description="Function parameter -> item locator.")
    config_args: JsonObject = None
    outputs: list[CustomFunctionOutput] = None


def _task(task_type: str, config: Any, doc: str) -> type[BaseModel]:
    title = "".join(part.title() for part in re.split(r"[._]", task_type)) + "Task"
    alias = Annotated[str, Field(min_length=1, max_length=128)] | None
    return create_model(
        title,
        __base__=_Strict,
        __doc__=doc,
        task_type=(Literal[task_type], ...),
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
