"""The building blocks of the spec models: patterns (with the message a user sees when a value
does not match them), the strict base model, and values that may be item locators."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    SerializerFunctionWrapHandler,
    ValidatorFunctionWrapHandler,
    WrapSerializer,
    WrapValidator,
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
# ECMA-262 as JSON Schema names it: no inline flags, so "at a line's start" is spelled out.
FUNCTION_PATTERN = r"(^|\n)\s*(async\s+)?def\s+\w+\s*\("

# The spec files a project has when evalspec.yaml does not say (``specs:``).
DEFAULT_SPECS = ("specs/**/*.yaml", "specs/**/*.yml")

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


def _keep_locator(value: Any, handler: SerializerFunctionWrapHandler) -> Any:
    """A locator serializes as the text it is (the type's serializer would warn on it)."""
    return value if isinstance(value, str) else handler(value)


def lit(tp: Any, **constraints: Any) -> Any:
    """``tp`` (with constraints) or an item locator."""
    return Annotated[tp, Field(**constraints), WrapValidator(_pass_locator),
                     WrapSerializer(_keep_locator), _OrLocator()]


Name = Annotated[str, Field(pattern=NAME_PATTERN, description="Resource name.")]
Tag = Annotated[str, Field(min_length=1, max_length=256)]
JsonObject = dict[str, Any]
FileRef = Annotated[str, Field(pattern=FILE_PATTERN, description="file://relative/path")]
