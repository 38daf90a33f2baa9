"""The `roster` command: run a service, validate configuration, start and follow a sync.

It only dispatches: services are imported lazily by name, and `sync` talks to the
scheduler's admin API over HTTP. Errors are one clear line and a non-zero exit.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from roster.shared.config import load_config
from roster.shared.errors import ConfigurationError

app = typer.Typer(
    help="Roster: identity provisioning for Confluence Data Center.", no_args_is_help=True
)
err = Console(stderr=True)
SERVICES = {
    "fetcher": "roster.fetcher.app",
    "reconciler": "roster.reconciler.app",
    "confluence-writer": "roster.writer.app",
    "scheduler": "roster.scheduler.app",
}
ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="Roster YAML configuration")]
ApiOption = Annotated[
    str, typer.Option("--api", envvar="ROSTER_API", help="Scheduler admin API base URL")
]


def _run_service(name: str, config: Path) -> None:
    try:
        settings = load_config(config)
    except ConfigurationError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc
    module: Any = importlib.import_module(SERVICES[name])
    asyncio.run(module.run(settings))


def _service_command(name: str) -> None:
    def command(config: ConfigOption) -> None:
        _run_service(name, config)

    command.__doc__ = f"Run the {name} service."
    app.command(name)(command)


for _name in SERVICES:
    _service_command(_name)


@app.command("config-validate")
def config_validate(file: Path) -> None:
    """Check a configuration file; print the first problem with the field it concerns."""
    try:
        settings = load_config(file)
    except ConfigurationError as exc:
        err.print(f"[red]invalid:[/] {exc}")
        raise typer.Exit(2) from exc
    typer.echo(f"ok: {len(settings.directories)} directories")


def _request(method: str, url: str, **kwargs: Any) -> Any:
    try:
        response = httpx.request(method, url, timeout=30, **kwargs)
    except httpx.HTTPError as exc:
        err.print(f"[red]error:[/] cannot reach the scheduler at {url}: {exc}")
        raise typer.Exit(1) from exc
    if response.status_code >= 400:
        err.print(f"[red]error:[/] {response.status_code} {response.text}")
        raise typer.Exit(1)
    return response.json()


def follow(api: str, run_id: str, *, timeout: float, show: bool) -> dict[str, Any]:
    """Poll a run until it ends; a progress bar on stderr when `show`."""
    deadline = time.monotonic() + timeout
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        disable=not show,
    ) as progress:
        task = progress.add_task(f"run {run_id}", total=None)
        while True:
            run = _request("GET", f"{api}/api/v1/runs/{run_id}")
            total = run.get("commands")
            progress.update(
                task,
                description=f"run {run_id} {run.get('phase', '')}",
                total=total,
                completed=run.get("done", 0),
            )
            if run.get("status") not in (None, "running"):
                return dict(run)
            if time.monotonic() > deadline:
                err.print(f"[red]error:[/] run {run_id} did not finish in {timeout:.0f} s")
                raise typer.Exit(1)
            time.sleep(0.2)


@app.command()
def sync(
    directory: Annotated[str, typer.Option("--directory", "-d")],
    api: ApiOption = "http://127.0.0.1:8100",
    mode: str = "full",
    dry_run: Annotated[bool, typer.Option("--dry-run")] = False,
    wait: Annotated[bool, typer.Option("--wait")] = False,
    timeout: float = 1800.0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    user: Annotated[str | None, typer.Option("--user", help="IdP subject: sync one user")] = None,
) -> None:
    """Start a sync of one directory (or of one user with --user); --wait follows it."""
    body: dict[str, object] = {"directory": directory, "mode": mode, "dry_run": dry_run,
                               "trigger": "cli"}  # fmt: skip
    if user is not None:
        body |= {"mode": "single", "subject": user}
    started = _request("POST", f"{api}/api/v1/syncs", json=body)
    run_id = started["run_id"]
    if not wait:
        typer.echo(json.dumps(started) if as_json else run_id)
        return
    run = follow(api, run_id, timeout=timeout, show=not as_json)
    if as_json:
        typer.echo(json.dumps(run))
    else:
        typer.echo(f"run {run_id}: {run.get('status')} {json.dumps(run.get('summary', {}))}")
    if run.get("status") == "failed":
        raise typer.Exit(1)


@app.command()
def runs(api: ApiOption = "http://127.0.0.1:8100", limit: int = 20) -> None:
    """List recent runs as JSON."""
    typer.echo(json.dumps(_request("GET", f"{api}/api/v1/runs", params={"limit": limit})))


@app.command()
def results(run_id: str, api: ApiOption = "http://127.0.0.1:8100") -> None:
    """Print a run's per-command results as JSON."""
    typer.echo(json.dumps(_request("GET", f"{api}/api/v1/runs/{run_id}/results")))


@app.command()
def plan(
    run_id: str,
    api: ApiOption = "http://127.0.0.1:8100",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show the stored plan of a held or dry run: why it is held, counts, changes per user."""
    document = _request("GET", f"{api}/api/v1/runs/{run_id}/plan")
    if as_json:
        typer.echo(json.dumps(document))
        return
    typer.echo(f"run {run_id} ({document.get('directory')}): {document.get('status')}")
    if document.get("hold_reason"):
        typer.echo(f"held: {document['hold_reason']}")
    counts = {k: v for k, v in (document.get("summary") or {}).items() if v}
    typer.echo("summary: " + (", ".join(f"{k}={v}" for k, v in counts.items()) or "no change"))
    for user in document.get("users", []):
        changes = ", ".join(c["type"] + (f" {c['group']}" if "group" in c else "")
                            for c in user.get("changes", []))  # fmt: skip
        why = "; ".join(user.get("reasons", []))
        typer.echo(f"  {user.get('username')}: {user.get('outcome')} [{changes}] {why}")


def _decide(verb: str, run_id: str, api: str, by: str, as_json: bool) -> None:
    answer = _request("POST", f"{api}/api/v1/runs/{run_id}/{verb}", json={"by": by})
    typer.echo(json.dumps(answer) if as_json else f"run {run_id}: {answer.get('decision')}")


@app.command()
def approve(
    run_id: str,
    api: ApiOption = "http://127.0.0.1:8100",
    by: Annotated[str, typer.Option(help="Who approves (audit)")] = "cli",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Approve a held run: its stored plan is executed once."""
    _decide("approve", run_id, api, by, as_json)


@app.command()
def reject(
    run_id: str,
    api: ApiOption = "http://127.0.0.1:8100",
    by: Annotated[str, typer.Option(help="Who rejects (audit)")] = "cli",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Reject a held run: nothing is executed, the run ends as rejected."""
    _decide("reject", run_id, api, by, as_json)
