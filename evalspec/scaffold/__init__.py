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


WORKFLOW = "github-actions.yml"


def repository_root(directory: Path) -> Path | None:
    """The git repository ``directory`` is in (the nearest parent with ``.git``), if any."""
    for candidate in (directory.resolve(), *directory.resolve().parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def _workflow_for(text: str, subdirectory: str) -> str:
    """The workflow for a project in a subdirectory of its repository: each evalspec step
    runs on that path, and only changes under it start a plan."""
    text = text.replace("        with:\n          command:",
                        f"        with:\n          path: {subdirectory}\n          command:")
    return text.replace("on:\n  pull_request:\n",
                        f"on:\n  pull_request:\n    paths: [\"{subdirectory}/**\"]\n", 1)


def write_project(directory: Path, project: str, schema: str) -> list[Path]:
    """Write the scaffold into ``directory``; refuses to overwrite any file. Inside a git
    repository whose root is elsewhere, the workflow goes to the root's .github/workflows (the
    only place GitHub runs workflows from), named for the project and pointed at its path."""
    if not PROJECT_NAME.fullmatch(project):
        raise UsageError(f"--project {project!r}: use 1-40 lower-case letters, digits and "
                         "dashes, starting with a letter or digit")
    planned = {directory / target: source for source, target in TARGETS.items()}
    planned[directory / "evalspec.schema.json"] = ""
    root = repository_root(directory)
    subdirectory = None
    if root is not None and root != directory.resolve():
        subdirectory = directory.resolve().relative_to(root).as_posix()
        del planned[directory / TARGETS[WORKFLOW]]
        planned[root / ".github" / "workflows" / f"evalspec-{project}.yml"] = WORKFLOW
    existing = [path for path in planned if path.exists()]
    if existing:
        shown = ", ".join(str(p) for p in existing[:3])
        raise UsageError(f"{shown}{' and others' if len(existing) > 3 else ''} already "
                         "exist; init never overwrites a file: choose another directory")
    package = resources.files(__package__)
    written = []
    for path, source in planned.items():
        text = schema if not source else package.joinpath(source).read_text(encoding="utf-8")
        if source == WORKFLOW and subdirectory is not None:
            text = _workflow_for(text, subdirectory)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace("__PROJECT__", project), encoding="utf-8")
        written.append(path)
    return written
