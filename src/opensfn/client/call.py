"""``opensfn call <Action>``: every operation of the Step Functions API as a command.

The actions are the operations of botocore's ``stepfunctions`` model, so the command
knows all 37 without a table of its own; the request is the operation's JSON input
(member names as in the API reference) and the response is printed as JSON.
"""

from __future__ import annotations

import functools
from typing import Any

import click

from opensfn.client.cli import cli
from opensfn.client.connect import aws_errors, aws_options, client_from
from opensfn.client.inputs import parse_request, read_json_arg
from opensfn.client.render import print_json

__all__ = ["call", "operation_names", "resolve_action"]


@functools.cache
def _model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("stepfunctions")


def operation_names() -> list[str]:
    """Every operation of the Step Functions API, as botocore's model names them."""
    return list(_model().operation_names)


def _key(name: str) -> str:
    return name.replace("-", "").replace("_", "").lower()


def resolve_action(action: str) -> str | None:
    """The operation named ``action``: ``StartExecution``, ``start-execution`` or
    ``start_execution`` (any case); ``None`` when there is none."""
    wanted = _key(action)
    return next((op for op in operation_names() if _key(op) == wanted), None)


def _pages(method: Any, request: dict[str, Any], follow: bool) -> dict[str, Any]:
    response: dict[str, Any] = method(**request)
    response.pop("ResponseMetadata", None)
    while follow and response.get("nextToken"):
        page: dict[str, Any] = method(**{**request, "nextToken": response.pop("nextToken")})
        page.pop("ResponseMetadata", None)
        for key, value in page.items():
            # List members accumulate; anything else (the next token) is the last page's.
            if isinstance(value, list) and isinstance(response.get(key), list):
                response[key].extend(value)
            else:
                response[key] = value
    return response


@cli.command(
    epilog="Exit status: 0 on success, 252 for a bad request, 254 when the service "
    "answers an error (its code is printed), 255 for anything else."
)
@click.argument("action", required=False)
@click.option(
    "--input",
    "input_arg",
    metavar="JSON|@FILE|-",
    help="The request: JSON text, @file.json, or - for stdin [stdin when piped, else {}].",
)
@click.option("--all", "follow", is_flag=True, help="Follow nextToken and print every page as one.")
@aws_options
def call(action: str | None, input_arg: str | None, follow: bool, **options: Any) -> None:
    """Call the API action ACTION with a JSON request and print the JSON response.

    ACTION is an operation name as in the API reference (StartExecution) or as the AWS
    CLI spells it (start-execution). Without ACTION, every action is listed.

    \b
    Example:
      opensfn call ListStateMachines --all
      opensfn call StartExecution --input '{"stateMachineArn": "arn:...", "input": "{}"}'
    """
    if action is None:
        click.echo("\n".join(operation_names()))
        return
    op = resolve_action(action)
    if op is None:
        raise click.BadParameter(
            f"{action!r} is not a Step Functions action; `opensfn call` lists them",
            param_hint="ACTION",
        )
    if follow and "nextToken" not in _model().operation_model(op).output_shape.members:
        raise click.BadParameter(f"{op} does not page", param_hint="--all")
    request = parse_request(read_json_arg(input_arg))
    with aws_errors(op):
        from botocore import xform_name

        sfn = client_from(options)
        response = _pages(getattr(sfn, xform_name(op)), request, follow)
    print_json(response)
