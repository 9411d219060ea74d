"""``opensfn run FILE|ARN``: deploy a definition, start it, follow it live, print its output.

Progress (states entered and left, failures) goes to stderr and the execution's output
to stdout, so ``opensfn run m.json > out.json`` keeps only the result. On a terminal the
progress is a live view (running states with a spinner, finished ones scrolling above);
elsewhere it is one plain line per step.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from collections import defaultdict, deque
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Group
from rich.live import Live
from rich.spinner import Spinner
from rich.text import Text

from opensfn.client.cli import cli
from opensfn.client.connect import aws_errors, aws_options, client_from
from opensfn.client.helpers import deploy, watch_history
from opensfn.client.inputs import read_json_arg
from opensfn.client.render import console, duration, elapsed, event_details, print_json

__all__ = ["EXIT_STATUS", "Progress", "default_machine_name", "run"]

# Exit status of `opensfn run` per final execution status (2 is click's usage error).
EXIT_STATUS = {"SUCCEEDED": 0, "FAILED": 1, "TIMED_OUT": 3, "ABORTED": 4}
_FAILURE_EVENTS = re.compile(r"(Failed|TimedOut|Aborted)$")


def default_machine_name(path: Path) -> str:
    """The state machine name for a definition file: its name without ``.asl.json``."""
    stem = path.name
    for suffix in (".json", ".asl"):
        stem = stem.removesuffix(suffix)
    return re.sub(r"[^A-Za-z0-9_-]", "-", stem)[:80] or "opensfn"


class Progress:
    """What ``run`` shows while an execution goes: fed history events one by one."""

    def __init__(self, *, quiet: bool = False) -> None:
        self.out = console(stderr=True)
        self.quiet = quiet
        # State name -> its visits still running, oldest first (Map iterations and
        # Parallel branches may run the same name several times at once). The live
        # view's refresh thread reads it, hence the lock.
        self.running: dict[str, deque[tuple[datetime, str, Spinner]]] = defaultdict(deque)
        self.lock = threading.Lock()
        self.live: Live | None = None
        if self.out.is_terminal and not quiet:
            self.live = Live(self, console=self.out, refresh_per_second=8, transient=True)
            self.live.start()

    def __rich__(self) -> Group:
        """The running states, each with a spinner and its time so far (rich protocol)."""
        with self.lock:
            rows = []
            for name, visits in self.running.items():
                for started, kind, spinner in visits:
                    took = duration(elapsed(started, None))
                    spinner.update(text=Text.assemble((name, "bold"), f"  {kind}  ", (took, "dim")))
                    rows.append(spinner)
            return Group(*rows)

    def _say(self, styled: Text) -> None:
        if self.quiet:
            return
        if self.live is not None:
            self.live.console.print(styled)
        else:
            self.out.print(styled.plain, markup=False, highlight=False)

    def event(self, event: dict[str, Any]) -> None:
        """Show one history event."""
        kind, ts = event["type"], event["timestamp"]
        name = event_details(event).get("name")
        if kind.endswith("StateEntered") and name is not None:
            state_type = kind.removesuffix("StateEntered")
            with self.lock:
                self.running[name].append((ts, state_type, Spinner("dots")))
            if self.live is None:  # on a terminal the live view shows it running
                self._say(Text.assemble(("→ ", "cyan"), name, (f"  {state_type}", "dim")))
        elif kind.endswith("StateExited") and name is not None:
            with self.lock:
                visits = self.running.get(name)
                entered, state_type, _ = visits.popleft() if visits else (ts, "", None)
                if visits is not None and not visits:
                    del self.running[name]
            took = duration(elapsed(entered, ts))
            self._say(Text.assemble(("✓ ", "green"), name, (f"  {state_type}  {took}", "dim")))
        elif _FAILURE_EVENTS.search(kind):
            details = event_details(event)
            why = "  ".join(f"{k}={details[k]}" for k in ("error", "cause") if details.get(k))
            self._say(Text.assemble(("✗ ", "red"), (kind, "red"), f"  {why}" if why else ""))

    def close(self) -> None:
        """End the live view."""
        if self.live is not None:
            self.live.stop()
            self.live = None


@cli.command(
    epilog="Exit status: 0 SUCCEEDED, 1 FAILED, 3 TIMED_OUT, 4 ABORTED; 254/255 when an "
    "API call fails; 130 when interrupted (the execution keeps running)."
)
@click.argument("target", metavar="FILE|ARN")
@click.option(
    "--input",
    "input_arg",
    metavar="JSON|@FILE|-",
    help="Execution input: JSON text, @file.json, or - for stdin [{}].",
)
@click.option("--name", default=None, help="Execution name [a UUID].")
@click.option("--machine-name", default=None, help="State machine name for FILE [the file's name].")
@click.option(
    "--role-arn", default=None, help="Role of a machine created from FILE (needed on AWS)."
)
@click.option(
    "--type",
    "machine_type",
    type=click.Choice(["STANDARD", "EXPRESS"]),
    default="STANDARD",
    help="Type of a machine created from FILE; EXPRESS runs with StartSyncExecution "
    "(no live progress).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress, only the output.")
@click.option("--detach", is_flag=True, help="Print the execution ARN and return at once.")
@aws_options
def run(
    target: str,
    input_arg: str | None,
    name: str | None,
    machine_name: str | None,
    role_arn: str | None,
    machine_type: str,
    quiet: bool,
    detach: bool,
    **options: Any,
) -> None:
    """Run a state machine and print its output.

    FILE is a definition (Amazon States Language JSON): the state machine named after
    the file is created, or updated when it exists. ARN is an existing state machine
    (or a version or alias). The execution is followed live until it ends.

    \b
    Example:
      opensfn run hello.asl.json --input '{"who": "world"}'
    """
    execution_input = read_json_arg(input_arg, stdin=False)
    with aws_errors():
        sfn = client_from(options)
        if target.startswith("arn:"):
            machine_arn = target
        else:
            path = Path(target)
            try:
                definition = path.read_text()
            except OSError as exc:
                raise click.BadParameter(f"cannot read {target}: {exc.strerror}") from None
            machine_arn = deploy(
                machine_name or default_machine_name(path),
                definition,
                role_arn=role_arn,
                machine_type=machine_type,
                client=sfn,
            )
        request: dict[str, Any] = {"stateMachineArn": machine_arn, "input": execution_input}
        if name:
            request["name"] = name
        if machine_type == "EXPRESS" and not detach:
            # Express executions keep no history to follow: run synchronously instead.
            _finish(sfn.start_sync_execution(**request))
            return
        execution_arn = sfn.start_execution(**request)["executionArn"]
        if detach:
            click.echo(execution_arn)
            return
        if not quiet:
            console(stderr=True).print(Text(f"execution {execution_arn}", style="dim"))
        _follow(sfn, execution_arn, quiet)
        final = sfn.describe_execution(executionArn=execution_arn)
    _finish(final)


def _follow(sfn: Any, execution_arn: str, quiet: bool) -> None:
    progress = Progress(quiet=quiet)
    try:
        for event in watch_history(execution_arn, client=sfn, include_data=False):
            progress.event(event)
    except KeyboardInterrupt:
        progress.close()
        click.echo(f"interrupted; the execution is still running: {execution_arn}", err=True)
        sys.exit(130)
    finally:
        progress.close()


def _finish(final: dict[str, Any]) -> None:
    status = final["status"]
    if status == "SUCCEEDED":
        output = final.get("output")
        if output is not None:
            print_json(json.loads(output))
        return
    err = console(stderr=True)
    err.print(Text(status, style="bold red"))
    for key in ("error", "cause"):
        if final.get(key):
            err.print(Text(f"{key}: {final[key]}"), markup=False, highlight=False)
    sys.exit(EXIT_STATUS.get(status, 1))
