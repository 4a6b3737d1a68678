"""`evalspec emulator` as a user runs it: a real process, its logs, its errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import httpx
import pytest

from evalspec.platform.server import free_port

SECRET = "sk-emulator-secret-123"


def test_emulator_serves_and_never_logs_keys(tmp_path) -> None:
    port = free_port()
    db = tmp_path / "state" / "platform.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "evalspec", "emulator", "--port", str(port), "--db", str(db),
         "--api-key", f"{SECRET}=acme"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                httpx.get(f"{url}/v5/evaluations", headers={"x-api-key": SECRET})
                break
            except httpx.ConnectError:
                time.sleep(0.05)
        headers = {"x-api-key": SECRET, "x-selected-account-id": "acme"}
        made = httpx.post(f"{url}/v5/evaluations", headers=headers,
                          json={"name": "e", "data": [{"q": 1}]})
        assert made.status_code == 200
        assert httpx.get(f"{url}/v5/evaluations?limit=1",
                         headers={"x-api-key": "wrong"}).status_code == 401
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert SECRET not in out + err
    assert f"evalspec local platform on http://127.0.0.1:{port}" in err
    assert "1 API key configured" in err
    # The access log: uvicorn's wording, on standard output, one line per answered request.
    log = [line for line in out.splitlines() if " - " in line]
    assert [re.sub(r":\d+ - ", ":PORT - ", line) for line in log[-2:]] == [
        'INFO:     127.0.0.1:PORT - "POST /v5/evaluations HTTP/1.1" 200 OK',
        'INFO:     127.0.0.1:PORT - "GET /v5/evaluations?limit=1 HTTP/1.1" 401 Unauthorized']
    assert db.is_file()


def test_dropped_write_is_committed_and_unanswered_under_the_access_log(tmp_path) -> None:
    """--drop-rate closes the connection after the commit, also with the access log around
    it: the client sees a disconnect (not a gateway's 502), the platform has the object, and
    only the answered request is logged."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "evalspec", "emulator", "--port", str(port), "--drop-rate", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url, headers = f"http://127.0.0.1:{port}", {"x-api-key": "k"}
        for _ in range(200):
            try:
                httpx.get(f"{url}/v5/evaluations", headers=headers)
                break
            except httpx.ConnectError:
                time.sleep(0.05)
        with pytest.raises(httpx.RemoteProtocolError, match="without sending"):
            httpx.post(f"{url}/v5/evaluations", headers=headers,
                       json={"name": "dropped", "data": [{"q": 1}]})
        listed = httpx.get(f"{url}/v5/evaluations", headers=headers).json()
        assert [e["name"] for e in listed["items"]] == ["dropped"]
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert "POST" not in out
    assert out.count('"GET /v5/evaluations HTTP/1.1" 200 OK') == 2


def test_bad_tasks_file_is_reported_at_its_line(run, tmp_path) -> None:
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(json.dumps({"task_id": "t1", "project": "p", "status": "done"}) + "\n")
    result = run("emulator", "--tasks", str(tasks), "--port", str(free_port()))
    assert result.code == 1
    assert result.err == (f"Error: {tasks}:1:1: status must be one of pending, completed, "
                          "canceled, error\n")


def test_bad_api_key_option(run) -> None:
    result = run("emulator", "--api-key", "no-account")
    assert (result.code, result.err) == (1, "Error: --api-key takes KEY=ACCOUNT\n")
