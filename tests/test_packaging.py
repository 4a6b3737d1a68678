"""What a release carries: the sdist holds what the test suite needs (conftest, the corpus, the
examples, the schemas), the license and the metadata; built from the tracked files only, so
nothing a user left in the working tree gets in."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def sdist(tmp_path_factory) -> tarfile.TarFile:
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("needs the git checkout (an sdist's own tests run without one)")
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                             check=True).stdout.decode().split("\0")
    source = tmp_path_factory.mktemp("source")
    for name in filter(None, tracked):
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, target)
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run([sys.executable, "-c", "import sys; from setuptools import "
                            "build_meta; build_meta.build_sdist(sys.argv[1])", str(out)],
                           cwd=source, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr[-3000:]
    [archive] = out.glob("*.tar.gz")
    return tarfile.open(archive)


def test_the_sdist_holds_what_the_tests_need(sdist) -> None:
    names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    for needed in ("LICENSE", "README.md", "pyproject.toml", "tests/conftest.py",
                   "tests/corpus/invalid/unknown-kind/expected.txt",
                   "examples/human-review/specs/review.yaml", "examples/sweep/evalspec.yaml",
                   "schemas/evalspec.schema.json", "evalspec/platform/task_schema.json",
                   "evalspec/platform/question_schema.json", ".ci/constraints.txt",
                   ".ci/constraints-3.10.txt", ".ci/floors.txt",
                   "docs/troubleshooting.md", "evalspec/scaffold/github-actions.yml"):
        assert needed in names, needed
    assert not [n for n in names if "/.evalspec/" in n or "__pycache__" in n]


def test_the_distribution_is_evalspec_cli_with_its_license(sdist) -> None:
    [info] = [m for m in sdist.getmembers() if m.name.count("/") == 1
              and m.name.endswith("/PKG-INFO")]
    metadata = sdist.extractfile(info).read().decode()  # type: ignore[union-attr]
    assert "\nName: evalspec-cli\n" in metadata
    assert "\nLicense-Expression: Apache-2.0\n" in metadata
    assert "\nLicense-File: LICENSE\n" in metadata
    assert "Programming Language :: Python :: 3.13" in metadata
    assert (ROOT / "LICENSE").read_text().lstrip().startswith("Apache License")


def test_the_floors_ci_tests_are_the_declared_lower_bounds() -> None:
    """Every runtime dependency's floor in pyproject.toml is the version .ci/floors.txt pins,
    so the range declared is the range CI tests."""
    import re

    tomllib = pytest.importorskip("tomllib")
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    floors = dict(line.split("==") for line in (ROOT / ".ci/floors.txt").read_text().splitlines()
                  if line and not line.startswith("#"))
    for requirement in declared:
        name, lower = re.match(r"([A-Za-z0-9_.-]+)>=([0-9.]+)", requirement).groups()
        assert floors.get(name.lower()) == lower, (requirement, floors.get(name.lower()))
