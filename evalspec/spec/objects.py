"""What the spec pipeline produces: each source document, each desired object, and the desired
state of the whole project. Shared by the pipeline (desired) and the checks across documents
(checks), which is why it lives apart from both."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalspec.errors import JsonPath, Location, Problem
from evalspec.spec import models
from evalspec.spec.fileref import FileContent, FileResolver
from evalspec.spec.yamlload import Document


@dataclass
class Source:
    """A source document and what is needed to report problems inside it."""

    document: Document
    kind: str
    base_dir: Path
    has_matrix: bool = False
    rows: dict[JsonPath, FileContent] = field(default_factory=dict)

    def locate(self, path: JsonPath, at_key: bool = False) -> Location:
        for prefix, content in self.rows.items():
            n = len(prefix)
            index = path[n] if len(path) > n and path[:n] == prefix else None
            if isinstance(index, int):
                return content.row_location(index)
        return self.document.locate(path, at_key)

    def templated(self, path: JsonPath) -> bool:
        value: Any = self.document.value
        for part in path:
            try:
                value = value[part]
            except (KeyError, IndexError, TypeError):
                return False
        return isinstance(value, str) and "${{" in value


@dataclass(frozen=True)
class DesiredObject:
    """One object the project wants on the platform."""

    kind: str
    name: str
    spec: Any  # models.Dataset | models.Evaluation | models.EvaluationGroup
    source: Source
    matrix: dict[str, Any] | None
    order: tuple[int, int, int]

    @property
    def address(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass
class DesiredState:
    root: Path
    config: models.ProjectConfig
    objects: list[DesiredObject]
    spec_documents: dict[str, int]
    warnings: list[Problem]
    files: FileResolver

    @property
    def project(self) -> str:
        return self.config.project

    def of_kind(self, kind: str) -> list[DesiredObject]:
        return [o for o in self.objects if o.kind == kind]
