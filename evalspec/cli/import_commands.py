"""``evalspec import``: bring existing platform objects under the project's management."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import click

from evalspec.cli.plan_commands import endpoint_option
from evalspec.cli.run_async import run as run_async
from evalspec.cli.spec_commands import var_options
from evalspec.errors import EXIT_ERROR, EXIT_OK, EvalspecError, SpecError, UsageError
from evalspec.sanitize import one_line


@click.command("import")
@click.argument("path", required=False, default=".", type=click.Path(path_type=Path))
@click.option("--group", "groups", multiple=True, metavar="NAME",
              help="An evaluation group by name, with its member evaluations. Repeatable.")
@click.option("--evaluation", "evaluations", multiple=True, metavar="ID",
              help="An evaluation by id. Repeatable.")
@click.option("--dataset", "datasets", multiple=True, metavar="ID",
              help="A dataset by id. Repeatable.")
@click.option("--question", "questions", multiple=True, metavar="ID",
              help="A question by id (an evaluation brings the questions its tasks use). "
              "Repeatable.")
@click.option("--rubric", "rubrics", multiple=True, metavar="ID",
              help="A rubric by id (an evaluation brings the rubrics its tasks use). "
              "Repeatable.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("specs/imported"), show_default=True,
              help="Where to write the specs, relative to the project root.")
@click.option("--no-matrix", is_flag=True,
              help="Write one document per evaluation, even for a sweep.")
@click.option("--auto-approve", is_flag=True, help="Stamp ownership without asking (for CI).")
@click.option("--take-over", is_flag=True,
              help="Also take objects another evalspec project owns (that project's next "
              "plan would create them again: drop them from its specs first).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="What was written and stamped, as lines or (with "
              "--auto-approve) one JSON document on stdout.")
@endpoint_option
@var_options
def import_(path: Path, groups: tuple[str, ...], evaluations: tuple[str, ...],
            datasets: tuple[str, ...], questions: tuple[str, ...], rubrics: tuple[str, ...],
            out: Path, no_matrix: bool, auto_approve: bool, take_over: bool, fmt: str,
            endpoint: str | None, variables: Any) -> int:
    """Write specs for existing objects, then take ownership of them.

    Reads the objects (a group brings its members, an evaluation its dataset and the
    questions and rubrics its tasks use), writes spec YAML and JSONL rows that reproduce them
    under --out, checks that a plan would then find nothing to change, and, once you confirm,
    stamps the project's ownership tag and metadata on them (a question, which has neither,
    is renamed evalspec:<project>/<name>; tasks then name it). A group whose members differ
    only in task settings such as the model or temperature is written as one matrix.
    Declining, or any difference, leaves the platform untouched and removes the written
    files.

    An object that another evalspec project owns (its tag evalspec:<name>) is refused,
    naming that project, unless --take-over is given; the confirmation then lists what
    changes hands.

    \b
    Examples:
      evalspec import --group faq-sweep
      evalspec import --evaluation evaluation_123 --dataset dataset_456 --out specs/legacy
      evalspec import --question question_789 --rubric rubric_012
    """
    from evalspec.apply import importer
    from evalspec.client.config import Credentials, resolve_endpoint, sgp_client
    from evalspec.plan.refresh import refresh
    from evalspec.spec.project import read_identity

    if fmt == "json" and not auto_approve:
        raise UsageError("--format json needs --auto-approve: there is no one to ask")
    if not (groups or evaluations or datasets or questions or rubrics):
        raise UsageError("say what to import: --group NAME, --evaluation ID, --dataset ID, "
                         "--question ID or --rubric ID")
    identity = read_identity(path, variables)
    target = (identity.root / out).resolve()
    if identity.root.resolve() not in (target, *target.parents):
        raise UsageError(f"--out {out}: must be inside the project ({identity.root})")
    resolved = resolve_endpoint(endpoint, identity.endpoint)
    client = sgp_client(resolved, Credentials.from_env(), identity.root)

    async def run() -> int:
        try:
            found = await importer.fetch(client, groups, evaluations, datasets, questions,
                                         rubrics, identity.project)
            taken = importer.other_owners(found, identity.project)
            if taken and not take_over:
                raise EvalspecError(
                    "these objects belong to another evalspec project, whose next plan would "
                    "create them again if they were taken:\n"
                    + _handover(taken, identity.project) + "\nNothing was written. Pass "
                    "--take-over to move them to this project anyway.")
            actual = await refresh(client, identity.project)
            quiet = io.StringIO() if fmt == "json" else None
            with contextlib.redirect_stdout(quiet) if quiet else contextlib.nullcontext():
                prints, files = _write_and_confirm(
                    found, actual, target, identity, variables, resolved.url, not no_matrix,
                    auto_approve, _handover(taken, identity.project))
            for kind, obj in found.objects():
                await importer.stamp(client, kind, obj, identity.project, prints[obj["id"]])
            written.extend(str(p) for p in files)
            stamped.extend({"address": f"{kind}/{obj['name']}", "id": obj["id"]}
                           for kind, obj in found.objects())
            return len(prints)
        finally:
            await client.aclose()

    written: list[str] = []
    stamped: list[dict[str, str]] = []
    count = run_async(run())
    if fmt == "json":
        from evalspec.sanitize import json_text

        click.echo(json_text({"format_version": 1, "project": identity.project,
                              "written": written, "stamped": stamped}))
        return EXIT_OK if count else EXIT_ERROR
    click.echo(f"Stamped ownership on {count} objects. 'evalspec plan' now finds nothing to "
               "change for them.")
    return EXIT_OK if count else EXIT_ERROR


def _handover(taken: list[tuple[str, dict[str, Any], list[str]]], project: str) -> str:
    return "\n".join(one_line(f"  {kind}/{obj['name']} ({obj['id']}): from project "
                              f"{' and '.join(repr(o) for o in owners)} to {project!r}")
                     for kind, obj, owners in taken)


def _write_and_confirm(found: Any, actual: Any, target: Path, identity: Any, variables: Any,
                       endpoint: str, matrices: bool, auto_approve: bool, handover: str
                       ) -> tuple[dict[str, str], list[Path]]:
    """Write the files, check them, ask; on any failure remove what was written. Returns the
    fingerprint to stamp per object id, and the files written."""
    from evalspec.apply import importer
    from evalspec.spec.desired import build

    root = identity.root
    defaults = _project_defaults(root)
    addresses = {f"{kind}/{obj['name']}" for kind, obj in found.objects()}
    current = _current(root, variables)
    defined = addresses & {o.address for o in current.objects} if current else set()
    if defined and defined != addresses:
        raise UsageError(f"{sorted(defined)[0]} is defined in the project's specs already; "
                         "import either objects the specs do not define (their specs are "
                         "written) or only ones they do (a renamed project takes its objects "
                         "back)")
    files = {} if defined else importer.write_specs(found, target, root, matrices=matrices,
                                                    defaults=defaults)
    clashes = [p for p, text in files.items()
               if p.exists() and p.read_text(encoding="utf-8") != text]
    if clashes:
        raise UsageError(f"{clashes[0].relative_to(root)} exists with other content; import "
                         "never overwrites: choose another --out")
    created = [p for p in files if not p.exists()]
    try:
        for file, text in files.items():
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(text, encoding="utf-8")
        try:  # nothing written: the specs as they were
            state = build(root, variables) if files or current is None else current
        except SpecError as exc:  # say what is wrong, not only how much
            lines = [one_line(str(p)) for p in exc.problems[:20]]
            raise EvalspecError("the written specs do not validate:\n  "
                                + "\n  ".join(lines)) from None
        prints: dict[str, str] = importer.verify(found, state, actual, endpoint, defaults)
        objects = found.objects()
        if files:
            click.echo(f"Wrote {len(files)} files under {target.relative_to(root)}:")
            for file in files:
                click.echo(f"  {file.relative_to(root)}")
            click.echo(f"\nThey reproduce {len(objects)} objects exactly. Import stamps the "
                       f"tag evalspec:{identity.project} and evalspec.* metadata on:")
        else:
            click.echo(f"The project's specs define all {len(objects)} objects already and "
                       "reproduce them exactly: nothing to write. Import stamps the tag "
                       f"evalspec:{identity.project} and evalspec.* metadata on:")
        for kind, obj in objects:
            click.echo(one_line(f"  {kind}/{obj['name']} ({obj['id']})"))
        if handover:
            click.echo("\nThese change hands (--take-over): the projects named lose them.\n"
                       + handover)
        if not auto_approve:
            from evalspec.cli.confirm import confirm

            confirm("import", "Take ownership of these objects", flag="--auto-approve",
                    outcome="the written files were removed")
        return prints, list(files)
    except BaseException:
        for file in created:
            file.unlink(missing_ok=True)
        _prune(target, root)
        raise


def _current(root: Path, variables: Any) -> Any:
    """The project's specs as they are before import writes any (None while they do not
    load)."""
    from evalspec.spec.desired import build

    try:
        return build(root, variables)
    except SpecError:
        return None


def _project_defaults(root: Path) -> dict[str, Any]:
    """evalspec.yaml's ``defaults`` as written (import leaves out what they add back)."""
    from evalspec.errors import ProblemSet
    from evalspec.spec.project import find_root, load_config

    loaded = load_config(find_root(root), ProblemSet())
    value = loaded.document.value if loaded.document is not None else {}
    defaults = value.get("defaults") if isinstance(value, dict) else None
    return defaults if isinstance(defaults, dict) else {}


def _prune(directory: Path, root: Path) -> None:
    """Remove directories import created and left empty, up to the project root."""
    for folder in sorted((p for p in [directory, *directory.rglob("*")] if p.is_dir()),
                         key=lambda p: len(p.parts), reverse=True):
        if folder != root and folder.exists() and not any(folder.iterdir()):
            folder.rmdir()
    parent = directory.parent
    while parent != root and parent.exists() and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent


COMMANDS = [import_]
