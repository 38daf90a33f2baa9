"""The `roster` command: run a service, validate configuration, drive the admin API.

It only dispatches: services are imported lazily by name; `sync`, `runs`, `results`,
`plan`, `approve` and `reject` talk to the scheduler's admin API over HTTP with the bearer
token of `--token` / ROSTER_API_TOKEN (client.py); `up` / `down` run the local stack of a
checkout (checkout.py). Errors are one clear line and a non-zero exit; `--json` prints data.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from roster.cli import checkout
from roster.cli.client import Api, err
from roster.shared.config import load_config
from roster.shared.errors import ConfigurationError

app = typer.Typer(
    help="Roster: identity provisioning for Confluence Data Center.", no_args_is_help=True
)
config_app = typer.Typer(help="Check configuration files.", no_args_is_help=True)
app.add_typer(config_app, name="config")
PIPED_WIDTH = 200
"""Tables written to a pipe or file are this wide (a terminal's own width otherwise)."""
DEFAULT_API = "http://127.0.0.1:8100"


def show(table: Table) -> None:
    """Print a table on stdout; never squeezed to 80 columns when piped."""
    console = Console()
    if not console.is_terminal:
        console = Console(width=PIPED_WIDTH)
    console.print(table)


SERVICES = {
    "fetcher": "roster.fetcher.app",
    "reconciler": "roster.reconciler.app",
    "confluence-writer": "roster.writer.app",
    "scheduler": "roster.scheduler.app",
}
ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="Roster YAML configuration")]
ApiOption = Annotated[
    str,
    typer.Option(
        "--api", envvar=["ROSTER_API", "ROSTER_API_URL"], help="Scheduler admin API base URL"
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="ROSTER_API_TOKEN",
        help="Admin API bearer token (viewer reads; operator also syncs and decides)",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the data as JSON")]


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


def _validate(file: Path) -> None:
    try:
        settings = load_config(file)
    except ConfigurationError as exc:
        err.print(f"[red]invalid:[/] {exc}", highlight=False)
        raise typer.Exit(2) from exc
    typer.echo(f"ok: {len(settings.directories)} directories")


@app.command("config-validate")
def config_validate(file: Path) -> None:
    """Check a configuration file; print the first problem with the field it concerns."""
    _validate(file)


@config_app.command("validate")
def config_validate_command(file: Path) -> None:
    """Check a configuration file locally (secrets resolved); the first problem, its field."""
    _validate(file)


def follow(api: Api, run_id: str, *, timeout: float, show: bool) -> dict[str, Any]:
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
            run = api.call("GET", f"/api/v1/runs/{run_id}")
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
    api: ApiOption = DEFAULT_API,
    token: TokenOption = None,
    mode: str = "full",
    dry_run: Annotated[bool, typer.Option("--dry-run")] = False,
    wait: Annotated[bool, typer.Option("--wait")] = False,
    timeout: float = 1800.0,
    as_json: JsonOption = False,
    user: Annotated[str | None, typer.Option("--user", help="IdP subject: sync one user")] = None,
) -> None:
    """Start a sync of one directory (or of one user with --user); --wait follows it."""
    client = Api(api, token)
    body: dict[str, object] = {"directory": directory, "mode": mode, "dry_run": dry_run,
                               "trigger": "cli"}  # fmt: skip
    if user is not None:
        body |= {"mode": "single", "subject": user}
    started = client.call("POST", "/api/v1/syncs", json=body)
    run_id = started["run_id"]
    if not wait:
        typer.echo(json.dumps(started) if as_json else run_id)
        return
    run = follow(client, run_id, timeout=timeout, show=not as_json)
    if as_json:
        typer.echo(json.dumps(run))
    else:
        typer.echo(f"run {run_id}: {run.get('status')} {json.dumps(run.get('summary', {}))}")
    if run.get("status") == "failed":
        raise typer.Exit(1)


def _when(epoch: Any) -> str:
    if not isinstance(epoch, int | float):
        return ""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def _duration(run: dict[str, Any]) -> str:
    started, completed = run.get("started_at"), run.get("completed_at")
    if not isinstance(started, int | float):
        return ""
    end = completed if isinstance(completed, int | float) else time.time()
    seconds = max(end - started, 0.0)
    text = f"{seconds:.1f}s" if seconds < 60 else f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return text if isinstance(completed, int | float) else f"{text}…"


def _progress(run: dict[str, Any]) -> str:
    commands = run.get("commands")
    return f"{run.get('done', 0)}/{commands if commands is not None else '?'}"


def runs_table(found: list[dict[str, Any]]) -> Table:
    """Runs as a table: id, directory, mode, trigger, status, start, duration, progress."""
    table = Table(title=f"{len(found)} runs", title_justify="left")
    for column in ("run", "directory", "mode", "trigger", "status", "started (UTC)"):
        table.add_column(column, no_wrap=True)
    table.add_column("duration", justify="right", no_wrap=True)
    table.add_column("done/commands", justify="right", no_wrap=True)
    for run in found:
        table.add_row(
            str(run.get("run_id", "")),
            str(run.get("directory", "")),
            str(run.get("mode", "")) + (" (dry run)" if run.get("dry_run") else ""),
            str(run.get("trigger", "")),
            str(run.get("status", "")),
            _when(run.get("started_at")),
            _duration(run),
            _progress(run),
        )
    return table


@app.command()
def runs(
    api: ApiOption = DEFAULT_API,
    token: TokenOption = None,
    directory: Annotated[str | None, typer.Option("--directory", "-d")] = None,
    status: Annotated[str | None, typer.Option(help="running, held, succeeded, failed...")] = None,
    trigger: Annotated[str | None, typer.Option(help="api, cli, schedule, ui...")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    as_json: JsonOption = False,
) -> None:
    """List recent runs, newest first: a table, or the API's JSON list with --json."""
    params: dict[str, Any] = {"limit": limit}
    for name, value in (("directory", directory), ("status", status), ("trigger", trigger)):
        if value is not None:
            params[name] = value
    found = Api(api, token).call("GET", "/api/v1/runs", params=params)
    if as_json:
        typer.echo(json.dumps(found))
        return
    show(runs_table(found))


def results_table(run_id: str, page: list[dict[str, Any]], total: str | None) -> Table:
    """One page of a run's results: user, operation, group, outcome, detail or error."""
    shown = f"{len(page)} of {total}" if total is not None else str(len(page))
    table = Table(title=f"run {run_id}: {shown} results", title_justify="left")
    for column in ("user", "operation", "group", "outcome", "detail"):
        table.add_column(column, overflow="fold")
    for result in page:
        if result.get("type") == "CommandFailed":
            outcome = "failed" + (" (permanent)" if result.get("permanent") else "")
            detail = str(result.get("error", ""))
        else:
            outcome = "noop" if result.get("noop") else "applied"
            detail = str(result.get("detail") or result.get("reason") or "")
        table.add_row(
            str(result.get("username") or ""),
            str(result.get("operation", "")),
            str(result.get("group") or ""),
            outcome,
            detail,
        )
    return table


@app.command()
def results(
    run_id: str,
    api: ApiOption = DEFAULT_API,
    token: TokenOption = None,
    status: Annotated[str | None, typer.Option(help="applied, noop or failed")] = None,
    operation: Annotated[str | None, typer.Option(help="e.g. CreateUser")] = None,
    user: Annotated[str | None, typer.Option(help="substring of the username")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 1000,
    as_json: Annotated[
        bool, typer.Option("--json", help="Every result, as the API's download (unfiltered)")
    ] = False,
) -> None:
    """A run's results: a table of the filtered page; --json: all, as downloaded.

    With --json the API's download body is copied to stdout byte for byte (streamed)."""
    client = Api(api, token)
    if as_json:
        if status or operation or user:
            err.print("[red]error:[/] --json prints every result; drop --status/--operation/--user")
            raise typer.Exit(2)
        client.copy_to_stdout(f"/api/v1/runs/{run_id}/results/download")
        return
    params: dict[str, Any] = {"limit": limit}
    for name, value in (("status", status), ("operation", operation), ("user", user)):
        if value is not None:
            params[name] = value
    response = client.response("GET", f"/api/v1/runs/{run_id}/results", params=params)
    show(results_table(run_id, response.json(), response.headers.get("x-total-count")))


@app.command()
def plan(
    run_id: str,
    api: ApiOption = DEFAULT_API,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show the stored plan of a held or dry run: why it is held, counts, changes per user."""
    document = Api(api, token).call("GET", f"/api/v1/runs/{run_id}/plan")
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


BY_HELP = "Who decides, for the audit, when the API runs without auth (with a token, its name)"


def _decide(verb: str, run_id: str, client: Api, by: str, as_json: bool) -> None:
    answer = client.call("POST", f"/api/v1/runs/{run_id}/{verb}", json={"by": by})
    typer.echo(json.dumps(answer) if as_json else f"run {run_id}: {answer.get('decision')}")


@app.command()
def approve(
    run_id: str,
    api: ApiOption = DEFAULT_API,
    token: TokenOption = None,
    by: Annotated[str, typer.Option(help=BY_HELP)] = "cli",
    as_json: JsonOption = False,
) -> None:
    """Approve a held run: its stored plan is executed once."""
    _decide("approve", run_id, Api(api, token), by, as_json)


@app.command()
def reject(
    run_id: str,
    api: ApiOption = DEFAULT_API,
    token: TokenOption = None,
    by: Annotated[str, typer.Option(help=BY_HELP)] = "cli",
    as_json: JsonOption = False,
) -> None:
    """Reject a held run: nothing is executed, the run ends as rejected."""
    _decide("reject", run_id, Api(api, token), by, as_json)


IdpOption = Annotated[
    str | None, typer.Option("--idp", help="keycloak, okta, entra or google (make's IDP)")
]


@app.command()
def up(idp: IdpOption = None) -> None:
    """Start the local stack of this checkout (`make up`): Kafka, Redis, simulators, services."""
    raise typer.Exit(checkout.make("up", idp=idp))


@app.command()
def down(idp: IdpOption = None) -> None:
    """Stop the local stack's simulators and services (`make down`)."""
    raise typer.Exit(checkout.make("down", idp=idp))
