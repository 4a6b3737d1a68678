"""``evalspec emulator``: serve the local platform."""

from __future__ import annotations

from pathlib import Path

import click

from evalspec.errors import EXIT_OK, UsageError


def _parse_qualities(pairs: tuple[str, ...]) -> tuple[tuple[str, float], ...]:
    from evalspec.platform.scoring import parse_qualities

    try:
        return parse_qualities(pairs)
    except ValueError as exc:
        raise UsageError(f"--model-quality {exc}") from None


def _parse_keys(pairs: tuple[str, ...]) -> dict[str, str]:
    keys: dict[str, str] = {}
    for pair in pairs:
        key, sep, account = pair.partition("=")
        if not sep or not key or not account:
            raise UsageError("--api-key takes KEY=ACCOUNT")
        keys[key] = account
    return keys


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8750, show_default=True, type=click.IntRange(1, 65535),
              help="Port to listen on.")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path),
              help="SQLite file; objects survive restarts. Default: in memory.")
@click.option("--api-key", "api_keys", multiple=True, metavar="KEY=ACCOUNT",
              help="Accept KEY for ACCOUNT (repeatable). Without any, every non-empty key is "
              "accepted and x-selected-account-id picks the account.")
@click.option("--tasks", "tasks_file", type=click.Path(dir_okay=False, exists=True,
              path_type=Path), help="JSONL file of v2 tasks served at /v2/tasks. A line's "
              "\"account\" (default: 'default') is the account whose keys see it.")
@click.option("--sample-tasks", default=0, type=click.IntRange(0), metavar="N",
              help="Also serve N synthetic v2 tasks shaped like Scale's example (project "
              "'Support FAQ review'), to try 'evalspec tasks' without data.")
@click.option("--complete-after", default=2.0, show_default=True, type=click.FloatRange(0),
              metavar="SECONDS", help="How long evaluations with tasks stay running.")
@click.option("--latency-ms", default=0.0, type=click.FloatRange(0), metavar="N",
              help="Delay every API request by N milliseconds.")
@click.option("--fail-rate", default=0.0, type=click.FloatRange(0, 1), metavar="P",
              help="Answer this share of requests with 500 or 503, doing nothing.")
@click.option("--rate-limit", default=0.0, type=click.FloatRange(0), metavar="N",
              help="Requests per second before 429 with Retry-After (0: no limit).")
@click.option("--drop-rate", default=0.0, type=click.FloatRange(0, 1), metavar="P",
              help="Commit this share of writes, then close the connection unanswered.")
@click.option("--seed", default=0, show_default=True, type=int,
              help="Seed for the injected faults and the synthetic answers and scores: the "
              "same seed gives the same ones.")
@click.option("--model-quality", "qualities", multiple=True, metavar="PATTERN=Q",
              help="How often models matching PATTERN (a glob) echo a row's reference answer, "
              "from 0 to 1; metrics and judges score the difference. First match wins; other "
              "models get a quality derived from their name. Repeatable.")
@click.option("--fail-model", "fail_models", multiple=True, metavar="PATTERN",
              help="Evaluations with a task on a model matching PATTERN (a glob) end 'failed' "
              "with every item failed. Repeatable.")
@click.option("--max-body-mb", default=32.0, show_default=True, type=click.FloatRange(0.001),
              metavar="MB", help="Refuse request bodies larger than this with 413 (a large "
              "body is read whole: it would stall every other client).")
def emulator(host: str, port: int, db: Path | None, api_keys: tuple[str, ...],
             tasks_file: Path | None, complete_after: float, latency_ms: float,
             fail_rate: float, rate_limit: float, drop_rate: float, seed: int,
             fail_models: tuple[str, ...], qualities: tuple[str, ...], sample_tasks: int,
             max_body_mb: float) -> int:
    """Serve the local platform: an SGP-compatible API over SQLite.

    Point evalspec or the official SDKs at it, with no account and no secrets.

    \b
    Examples:
      evalspec emulator --db .evalspec/platform.db
      evalspec emulator --api-key test-key=acme --api-key other=globex
      evalspec emulator --tasks tasks.jsonl --latency-ms 20 --fail-rate 0.1 --seed 7
      evalspec emulator --sample-tasks 500
      evalspec emulator --model-quality 'openai/gpt-4o=0.9' --model-quality '*mini=0.4'
      SGP_CLIENT_BASE_URL=http://127.0.0.1:8750 SGP_API_KEY=x SGP_ACCOUNT_ID=acme \
        python my_sdk_script.py
    """
    from evalspec.platform.api import Settings
    from evalspec.platform.server import serve

    keys = _parse_keys(api_keys)
    if db is not None:
        db.parent.mkdir(parents=True, exist_ok=True)
    from evalspec.platform.faults import Faults

    faults = Faults(latency_ms=latency_ms, fail_rate=fail_rate, rate_limit=rate_limit,
                    drop_rate=drop_rate, seed=seed)
    settings = Settings(db=db or ":memory:", api_keys=keys, complete_after=complete_after,
                        tasks_file=tasks_file, faults=faults, fail_models=fail_models,
                        sample_tasks=sample_tasks, model_quality=_parse_qualities(qualities),
                        max_body_bytes=int(max_body_mb * 1024 * 1024))
    def announce() -> None:
        click.echo(f"evalspec local platform on http://{host}:{port} "
                   f"(database: {db or 'in memory'}; "
                   f"{len(keys)} API key{'s' if len(keys) != 1 else ''} configured)", err=True)

    serve(settings, host, port, announce)
    return EXIT_OK


COMMANDS = [emulator]
