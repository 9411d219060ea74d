"""Static rules of the Map state's sub-objects, with AWS's messages.

ItemProcessor (or the legacy Iterator) with its ProcessorConfig, ItemReader,
ItemBatcher, ResultWriter and the tolerated-failure fields. Label content is checked
later, by ``validate.py``, because AWS reports it in a separate stage and format.
"""

from __future__ import annotations

from typing import Any

from opensfn.asl import schema

# Enumerations AWS checks, by field: the values it accepts, in the order it lists them.
ENUMS: dict[str, tuple[str, ...]] = {
    "Mode": ("INLINE", "DISTRIBUTED"),
    "ExecutionType": ("STANDARD", "EXPRESS"),
    "InputType": ("CSV", "JSON", "JSONL", "MANIFEST", "PARQUET"),
    "CSVHeaderLocation": ("FIRST_ROW", "GIVEN"),
}
READER_RESOURCES = ("s3:getObject", "s3:listObjectsV2")
WRITER_RESOURCES = ("s3:putObject",)


def check_map(
    out: schema.Out, state: dict[str, Any], location: str, jsonata: bool, sub: schema.SubMachine
) -> None:
    """Append the diagnostics of a Map state's own fields; sub-machines go to ``sub``."""
    processors = ("ItemProcessor", "Iterator")
    present = [name for name in processors if name in state]
    if len(present) > 1:
        schema.only_one(out, state, processors, location)
    elif not present:
        schema.error(
            out,
            "This object should have only one of the following fields: [ItemProcessor, Iterator]",
            location,
        )
    for name in present:
        _processor(out, state[name], f"{location}/{name}", sub)
    for name in ("MaxConcurrency", "ToleratedFailureCount"):
        schema.integer(out, state, name, location, jsonata)
    percentage: Any = state.get("ToleratedFailurePercentage")
    if "ToleratedFailurePercentage" in state and not (jsonata and schema.is_jsonata(percentage)):
        at = f"{location}/ToleratedFailurePercentage"
        if schema.typed(out, percentage, "Number", at) and not 0 <= float(percentage) <= 100:
            schema.error(out, "Value should be between 0 and 100", at)
    if "Label" in state:
        schema.typed(out, state["Label"], "String", f"{location}/Label")
    if "Items" in state and not schema.is_jsonata(state["Items"]):
        schema.typed(out, state["Items"], "Array", f"{location}/Items")
    if "ItemReader" in state:
        _resource_object(
            out,
            state["ItemReader"],
            f"{location}/ItemReader",
            jsonata,
            READER_RESOURCES,
            "ReaderConfig",
        )
    if "ResultWriter" in state:
        _resource_object(
            out,
            state["ResultWriter"],
            f"{location}/ResultWriter",
            jsonata,
            WRITER_RESOURCES,
            "WriterConfig",
        )
    if "ItemBatcher" in state:
        _batcher(out, state["ItemBatcher"], f"{location}/ItemBatcher", jsonata)


def _processor(out: schema.Out, processor: Any, location: str, sub: schema.SubMachine) -> None:
    if not schema.typed(out, processor, "Object", location):
        return
    config = processor.get("ProcessorConfig")
    if "ProcessorConfig" in processor and schema.typed(
        out, config, "Object", f"{location}/ProcessorConfig"
    ):
        at = f"{location}/ProcessorConfig"
        schema.allowed_only(out, config, frozenset({"Mode", "ExecutionType"}), at)
        _enum(out, config, "Mode", at)
        _enum(out, config, "ExecutionType", at)
        if config.get("Mode") == "DISTRIBUTED":
            schema.required(out, config, ("ExecutionType",), at)
        elif "ExecutionType" in config:
            schema.error(out, "Field 'ExecutionType' is not supported", at)
    # The sub-machine itself (StartAt, States, Comment) is checked like a Parallel branch.
    sub({k: v for k, v in processor.items() if k != "ProcessorConfig"}, location)


def _enum(out: schema.Out, obj: dict[str, Any], name: str, location: str) -> None:
    if name in obj and obj[name] not in ENUMS[name]:
        schema.error(
            out,
            f"Value should be one of the following: [{', '.join(ENUMS[name])}]",
            f"{location}/{name}",
        )


def _resource_object(
    out: schema.Out,
    value: Any,
    location: str,
    jsonata: bool,
    resources: tuple[str, ...],
    config_name: str,
) -> None:
    """ItemReader / ResultWriter: an S3 resource, its arguments and its config object."""
    if not schema.typed(out, value, "Object", location):
        return
    arguments = "Arguments" if jsonata else "Parameters"
    schema.allowed_only(out, value, frozenset({"Resource", arguments, config_name}), location)
    resource = value.get("Resource")
    if "Resource" in value and schema.typed(out, resource, "String", f"{location}/Resource"):
        suffix = resource.split(":::", 1)[-1]
        if not resource.startswith("arn:") or suffix not in resources:
            schema.error(
                out,
                "The field 'Resource' does not match any of the allowed values",
                f"{location}/Resource",
            )
    if (
        arguments in value
        and not jsonata
        and schema.typed(out, value[arguments], "Object", f"{location}/{arguments}")
    ):
        schema.payload(out, value[arguments], f"{location}/{arguments}")
    config = value.get(config_name)
    if config_name in value and schema.typed(out, config, "Object", f"{location}/{config_name}"):
        for name in ("InputType", "CSVHeaderLocation"):
            _enum(out, config, name, f"{location}/{config_name}")
        if config.get("CSVHeaderLocation") == "GIVEN":
            schema.required(out, config, ("CSVHeaders",), f"{location}/{config_name}")


def _batcher(out: schema.Out, value: Any, location: str, jsonata: bool) -> None:
    if not schema.typed(out, value, "Object", location):
        return
    literal = ("MaxItemsPerBatch", "MaxInputBytesPerBatch")
    dynamic = () if jsonata else tuple(f"{name}Path" for name in literal)
    schema.allowed_only(out, value, frozenset({*literal, *dynamic, "BatchInput"}), location)
    for name in literal:
        if name in value and not (jsonata and schema.is_jsonata(value[name])):
            at = f"{location}/{name}"
            if schema.typed(out, value[name], "Integer", at) and value[name] < 1:
                schema.error(out, "Value should be greater than or equal to 1", at)
        schema.only_one(out, value, (name, f"{name}Path"), location)
    if (
        "BatchInput" in value
        and not (jsonata and schema.is_jsonata(value["BatchInput"]))
        and (
            schema.typed(out, value["BatchInput"], "Object", f"{location}/BatchInput")
            and not jsonata
        )
    ):
        schema.payload(out, value["BatchInput"], f"{location}/BatchInput")
