"""The task models: chat_completion configuration checked key by key, and each scoring task's
configuration after scale-gp-beta's task params, joined in one union chosen by task_type."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
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
