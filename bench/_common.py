"""What the benchmarks share: measuring a child process, and the emulator in its own process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evalspec.platform.server import free_port  # noqa: E402

EVALSPEC = [sys.executable, "-m", "evalspec"]


def measure(args: list[str], cwd: Path, env: dict[str, str] | None = None,
            ok: tuple[int, ...] = (0,)) -> tuple[float, float, int]:
    """CPU seconds, wall seconds and peak RSS (MiB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, env={**os.environ, **(env or {})},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own CPU time and peak RSS
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in ok:
        raise SystemExit(f"{' '.join(args)} failed with {os.waitstatus_to_exitcode(status)}")
    return usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss // 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a running process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Emulator:
    url: str
    pid: int


@contextmanager
def emulator(db: Path, *options: str, source: Path | None = None, plain_stack: bool = False,
             under: Sequence[str] = (), env: Mapping[str, str] | None = None,
             startup: float = 10.0) -> Iterator[Emulator]:
    """`evalspec emulator` on ``db`` in its own process, ready when this yields.

    ``source`` runs the evalspec package found there instead (another checkout, for a baseline
    in the same run); ``plain_stack`` hides uvloop and httptools from it, so uvicorn serves
    with asyncio's loop and h11, as it did before evalspec depended on them. ``under`` runs
    it under another program (valgrind), with ``env`` added to the environment and
    ``startup`` seconds to begin answering.
    """
    port = free_port()
    argv = ["evalspec", "emulator", "--port", str(port), "--db", str(db), *options]
    hide = "sys.modules['uvloop'] = sys.modules['httptools'] = None; " if plain_stack else ""
    command = [*under, sys.executable, "-c", f"import runpy, sys; {hide}sys.argv = {argv!r}; "
               "runpy.run_module('evalspec', run_name='__main__', alter_sys=True)"]
    environ = {**os.environ, **(env or {}), **({"PYTHONPATH": str(source)} if source else {})}
    with served(command, port, environ, source or ROOT, startup) as server:
        yield server


@contextmanager
def served(command: list[str], port: int, env: dict[str, str] | None = None,
           cwd: Path = ROOT, startup: float = 10.0) -> Iterator[Emulator]:
    """A server ``command`` listening on ``port``, ready when this yields."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env, cwd=cwd)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + startup
    try:
        while True:
            try:
                httpx.get(f"{url}/v5/datasets", headers={"x-api-key": "bench"}, timeout=startup)
                break
            except httpx.TransportError:
                if proc.poll() is not None:
                    raise SystemExit(f"{command} exited with {proc.returncode}") from None
                if time.monotonic() > deadline:
                    raise SystemExit(f"{command} did not answer in {startup:.0f} s") from None
                time.sleep(0.025)
        yield Emulator(url, proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
