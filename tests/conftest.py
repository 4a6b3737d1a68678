from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from evalspec.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
        ) -> Callable[..., Result]:
    """Run ``evalspec ARGS`` in-process through the real entry point, in ``cwd``."""

    def _run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Result:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_info:
            main(list(args))
        captured = capsys.readouterr()
        code = exit_info.value.code
        return Result(code if isinstance(code, int) else 1, captured.out, captured.err)

    return _run


def copy_example(example: str, target: Path, examples: Path = EXAMPLES) -> Path:
    """Copy ``examples/<example>`` as committed to git: its tracked files only, so what a user
    left there (the local platform's ``.evalspec/``, a saved plan, pulled results) never
    reaches a test. Outside a git checkout, everything but ``.evalspec/`` is copied."""
    import shutil
    import subprocess

    source = examples / example
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--", "."], cwd=source, check=True,
                                capture_output=True, timeout=30).stdout.decode()
    except (OSError, subprocess.SubprocessError):
        listed = ""
    tracked = [name for name in listed.split("\0") if name]
    if not tracked:
        shutil.copytree(source, target, ignore=shutil.ignore_patterns(".evalspec"))
        return target
    for name in tracked:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / name, target / name)
    return target


@pytest.fixture
def workdir(tmp_path: Path) -> Callable[[str], Path]:
    """A copy of one of examples/ to change freely."""

    def copy(example: str) -> Path:
        return copy_example(example, tmp_path / example)

    return copy


@pytest.fixture
def project(tmp_path: Path) -> Callable[..., Path]:
    """Write a project from a mapping of relative path to text (or bytes)."""

    def _project(files: dict[str, str | bytes], config: str = "project: demo\n") -> Path:
        files = {"evalspec.yaml": config, **files}
        for rel, content in files.items():
            path = tmp_path / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        return tmp_path

    return _project


EVALUATION = """\
kind: Evaluation
name: ev
data: [{q: a}]
tasks:
  - task_type: chat_completion
    configuration:
      model: openai/gpt-4o
      messages: [{role: user, content: item.q}]
"""


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("EVALSPEC_") or key in ("SGP_API_KEY", "SCALE_API_KEY", "CI"):
            monkeypatch.delenv(key)  # CI: the suite itself runs in CI; tests that need it set it


@pytest.fixture
def serve(tmp_path: Path):
    """Starts the local platform on a loopback port and a fresh database, with the given
    Settings fields; every server it started stops when the test ends."""
    from evalspec.platform.api import Settings
    from evalspec.platform.server import start_background

    servers = []

    def _serve(**settings: Any):
        server = start_background(Settings(db=tmp_path / f"platform-{len(servers)}.db",
                                           **settings))
        servers.append(server)
        return server

    yield _serve
    for server in servers:
        server.stop()


@pytest.fixture
def platform(serve):
    """The local platform as most tests want it: evaluations finish after 0.3 s."""
    return serve(complete_after=0.3)


@pytest.fixture
def http(platform):
    import httpx

    with httpx.Client(base_url=platform.url, headers={"x-api-key": "k"}, timeout=10) as client:
        yield client


@pytest.fixture
def sdk(platform):
    from scale_gp_beta import SGPClient

    client = SGPClient(base_url=platform.url, api_key="k", account_id="default", max_retries=0)
    yield client
    client.close()


@dataclass
class TerminalResult:
    code: int
    screen: str  # everything written to the terminal, "\r\n" turned back into "\n"


@pytest.fixture
def terminal() -> Callable[..., TerminalResult]:
    """Run ``python -m evalspec ARGS`` in a child process attached to a pseudo-terminal, the
    way a person runs it: stdin, stdout and stderr are all the terminal."""
    import pty
    import select
    import signal
    import subprocess
    import sys
    import time

    def _terminal(*args: str, cwd: Path, env: dict[str, str], typed: str = "",
                  timeout: float = 60, interrupt_after: str | None = None) -> TerminalResult:
        """``interrupt_after``: once the screen shows this text, Ctrl-C (a SIGINT, which the
        terminal would send) is pressed once."""
        master, slave = pty.openpty()
        environment = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
        process = subprocess.Popen([sys.executable, "-m", "evalspec", *args], cwd=cwd,
                                   env={**environment, "TERM": "xterm", **env}, stdin=slave,
                                   stdout=slave, stderr=slave, close_fds=True)
        os.close(slave)
        if typed:
            os.write(master, typed.encode())  # waits in the terminal until it is read
        output = b""
        try:
            while True:
                ready, _, _ = select.select([master], [], [], timeout)
                if not ready:
                    process.kill()
                    raise AssertionError(f"no output for {timeout}s: {output[-500:]!r}")
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                output += chunk
                if interrupt_after is not None and interrupt_after.encode() in output:
                    interrupt_after = None
                    # As a person would, a moment after the text shows: a signal that lands
                    # between a prompt's text and the read of its answer waits for the
                    # answer (CPython's input() checks for signals only when read() is
                    # interrupted), which no one pressing a key could hit.
                    time.sleep(0.5)
                    process.send_signal(signal.SIGINT)
        finally:
            code = process.wait(timeout)
            os.close(master)
        return TerminalResult(code, output.decode().replace("\r\n", "\n"))

    return _terminal


def screenshot(page: Path, tmp_path: Path, size: str) -> bytes:
    """A PNG of ``page`` rendered by Debian's headless Chromium (flags that keep it off the
    network, as this machine has none), at ``size`` such as "1000,2400"."""
    import subprocess

    shot = tmp_path / "shot.png"
    subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
         f"--screenshot={shot}", f"--window-size={size}", page.as_uri()],
        check=True, capture_output=True, timeout=120)
    return shot.read_bytes()


def edit(path: Path, old: str, new: str) -> None:
    """Replace ``old`` with ``new`` in a file; ``old`` must be there (examples can change)."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")
