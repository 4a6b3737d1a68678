"""The package stays lint-clean (ruff) and type-clean (mypy --strict, pydantic plugin)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff() -> None:
    result = run_tool("ruff", "check", "evalspec", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict() -> None:
    result = run_tool("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_modules_import_each_other_without_cycles() -> None:
    # Module-level imports, type-checking ones included: a cycle means a shared piece belongs
    # in a module of its own (as spec/objects.py and platform/api.py are).
    import ast
    import graphlib

    package = ROOT / "evalspec"
    modules = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
               for p in package.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        nodes = [*tree.body, *(n for s in tree.body if isinstance(s, ast.If) for n in s.body)]
        found = set()
        for node in nodes:
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("evalspec"):
                for alias in node.names:
                    target = f"{node.module}.{alias.name}"
                    found.add(target if target in modules else node.module)
        graph[name] = {m for m in found if m in modules and m != name}
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError naming the cycle


def test_modules_stay_small_enough_to_read() -> None:
    # STYLE.md: modules under ~400 lines; a module past 450 is split by what it holds.
    sizes = {str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
             for p in (ROOT / "evalspec").rglob("*.py")}
    assert {name: n for name, n in sizes.items() if n > 450} == {}


def test_commands_run_coroutines_without_asyncio_repr_of_their_result() -> None:
    """asyncio.run on CPython 3.11.0-3.11.7 and 3.12.0 reprs its result twice (it cost a
    10,000-evaluation plan 1.4 s): commands go through cli/run_async.py, which hands the
    result back aside."""
    from evalspec.cli.run_async import run

    reprs = []

    class Expensive:
        def __repr__(self) -> str:
            reprs.append(self)  # an exception here would be swallowed by asyncio
            return "<Expensive>"

    async def main() -> Expensive:
        return Expensive()

    assert isinstance(run(main()), Expensive)
    assert reprs == []
    calls = [str(p.relative_to(ROOT)) for p in (ROOT / "evalspec").rglob("*.py")
             if "asyncio.run(" in p.read_text(encoding="utf-8")]
    assert calls == ["evalspec/cli/run_async.py"]


def test_a_plans_early_reads_need_neither_the_spec_models_nor_the_planner() -> None:
    """plan starts its reads before the spec models are imported (about 0.2 s of a 10,000-
    evaluation plan's start-up): what the reads need must not import them. Nor httpx's own
    command line, which its package imports with pygments and, where installed, rich."""
    code = ("import sys; import evalspec.cli, evalspec.plan.refresh, evalspec.client.config, "
            "evalspec.spec.project; print(sorted(m for m in sys.modules if m in "
            "{'pydantic', 'jsonschema', 'evalspec.spec.models', 'evalspec.plan.planner', "
            "'pygments', 'rich'}))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_every_data_file_in_the_package_ships_in_the_wheel() -> None:
    """Files beside the code (the platform's schemas, the scaffold) are package data: each must
    match a pattern of [tool.setuptools.package-data] for its package, or a wheel lacks it."""
    import fnmatch
    from pathlib import Path

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]
    missing = []
    for path in sorted((ROOT / "evalspec").rglob("*")):
        if path.is_dir() or path.suffix in (".py", ".pyc") or "__pycache__" in path.parts:
            continue
        relative = path.relative_to(ROOT)
        shipped = False
        for package, globs in patterns.items():
            base = Path(*package.split("."))
            if base in relative.parents:
                inside = relative.relative_to(base).as_posix()
                shipped |= any(fnmatch.fnmatch(inside, g) and inside.count("/") == g.count("/")
                               for g in globs)
        if not shipped:
            missing.append(relative.as_posix())
    assert missing == [], f"not in any package-data pattern: {missing}"
