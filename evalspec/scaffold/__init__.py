"""The project ``evalspec init`` writes: files in this package, copied with the project's name.

Dot-files are stored without their dot (``gitignore``) and the workflow under a plain name, so
that packaging tools keep them; :data:`TARGETS` says where each one goes.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from evalspec.errors import UsageError

TARGETS = {
    "evalspec.yaml": "evalspec.yaml",
    "specs/qa.yaml": "specs/qa.yaml",
    "data/questions.jsonl": "data/questions.jsonl",
    "prompts/system.txt": "prompts/system.txt",
    "gitignore": ".gitignore",
    "github-actions.yml": ".github/workflows/evalspec.yml",
}
PROJECT_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")


def project_name(directory: Path) -> str:
    """A valid project name from a directory name: lower case, dashes, at most 40 chars."""
    name = re.sub(r"[^a-z0-9]+", "-", directory.resolve().name.lower()).strip("-")
    name = name[:40].strip("-")
    return name if PROJECT_NAME.fullmatch(name) else "evals"


def write_project(directory: Path, project: str, schema: str) -> list[Path]:
    """Write the scaffold into ``directory``; refuses to overwrite any file."""
    if not PROJECT_NAME.fullmatch(project):
        raise UsageError(f"--project {project!r}: use 1-40 lower-case letters, digits and "
                         "dashes, starting with a letter or digit")
    planned = {directory / target: source for source, target in TARGETS.items()}
    planned[directory / "evalspec.schema.json"] = ""
    existing = [path for path in planned if path.exists()]
    if existing:
        shown = ", ".join(str(p) for p in existing[:3])
        raise UsageError(f"{shown}{' and others' if len(existing) > 3 else ''} already "
                         "exist; init never overwrites a file: choose another directory")
    package = resources.files(__package__)
    written = []
    for path, source in planned.items():
        text = schema if not source else package.joinpath(source).read_text(encoding="utf-8")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace("__PROJECT__", project), encoding="utf-8")
        written.append(path)
    return written
