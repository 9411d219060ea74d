"""``opensfn validate FILE``: AWS's diagnostics for a definition, offline or from a server.

Offline it runs opensfn's own validator (``opensfn.asl.validate``, the code behind
ValidateStateMachineDefinition), so no server or account is needed; with
``--endpoint-url`` or ``--remote`` it asks the API instead (AWS itself, for instance).
"""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.text import Text

from opensfn.asl.validate import validate_response
from opensfn.client.cli import cli
from opensfn.client.connect import aws_errors, aws_options, client_from
from opensfn.client.render import console, print_json

__all__ = ["validate"]


def _diagnostic_line(source: str, d: dict[str, Any]) -> Text:
    where = f" at {d['location']}" if d.get("location") else ""
    style = "red" if d["severity"] == "ERROR" else "yellow"
    return Text.assemble(
        f"{source}: ", (d["severity"], style), f" {d['code']}{where}: {d['message']}"
    )


@cli.command(epilog="Exit status: 0 when the definition is valid, 1 when it is not.")
@click.argument("file", type=click.File("r"), metavar="FILE")
@click.option(
    "--type",
    "machine_type",
    type=click.Choice(["STANDARD", "EXPRESS"]),
    default="STANDARD",
    show_default=True,
)
@click.option(
    "--severity",
    type=click.Choice(["ERROR", "WARNING"]),
    default="ERROR",
    show_default=True,
    help="WARNING shows warnings as well as errors.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON response.")
@click.option(
    "--remote",
    is_flag=True,
    help="Ask the ValidateStateMachineDefinition API (implied by --endpoint-url).",
)
@aws_options
def validate(
    file: Any, machine_type: str, severity: str, as_json: bool, remote: bool, **options: Any
) -> None:
    """Check a state machine definition (FILE, or - for stdin) as AWS does.

    The diagnostics are those ValidateStateMachineDefinition returns: code, JSON
    Pointer location and message, in AWS's words and order.
    """
    definition = file.read()
    if remote or options.get("endpoint_url"):
        with aws_errors():
            response: dict[str, Any] = client_from(options).validate_state_machine_definition(
                definition=definition, type=machine_type, severity=severity
            )
        response.pop("ResponseMetadata", None)
    else:
        response = validate_response(definition, machine_type, severity)
    if as_json:
        print_json(response)
    else:
        out = console()
        source = "<stdin>" if file.name == "<stdin>" else file.name
        for d in response["diagnostics"]:
            out.print(_diagnostic_line(source, d), markup=False, highlight=False)
        if response["result"] == "OK":
            out.print(Text.assemble(f"{source}: ", ("OK", "green")), highlight=False)
    sys.exit(0 if response["result"] == "OK" else 1)
