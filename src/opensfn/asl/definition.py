"""Loading a state machine definition into frozen, compiled data.

Every path, payload template, intrinsic, Choice rule and JSONata expression is compiled
here, once per state machine version, so that the interpreter never parses anything
per transition. Loading is lenient about what static validation (``asl.validate``)
reports; it raises :class:`DefinitionError` only for what it cannot run at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from opensfn.asl import choice as choice_mod
from opensfn.asl import jsonpath, payload
from opensfn.errors import DefinitionError

JSONPATH = "JSONPath"
JSONATA = "JSONata"


@dataclass(frozen=True)
class Retrier:
    """One ``Retry`` entry."""

    error_equals: tuple[str, ...]
    interval_seconds: float = 1.0
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay_seconds: float | None = None
    jitter: str = "NONE"


@dataclass(frozen=True)
class Catcher:
    """One ``Catch`` entry; ``result_path`` None means ``"ResultPath": null``."""

    error_equals: tuple[str, ...]
    next: str
    result_path: str | None = "$"
    assign: Any = None  # compiled Assign (payload or JSONata template) or None
    output: Any = None  # JSONata Output template or None


@dataclass(frozen=True)
class ItemIO:
    """A Distributed Map's ItemReader or ResultWriter, compiled.

    ``arguments`` is the ``Parameters`` payload template (JSONPath) or the ``Arguments``
    JSONata template; ``config`` the ``ReaderConfig`` / ``WriterConfig``: a plain dict in
    JSONPath (its ``MaxItemsPath`` compiled apart), a JSONata template otherwise.
    """

    resource: str | None
    arguments: Any = None
    config: Any = None
    max_items_path: jsonpath.JsonPath | None = None


@dataclass(frozen=True)
class ItemBatcher:
    """A Distributed Map's ItemBatcher: literals (JSONata templates in JSONata), paths,
    and the ``BatchInput`` template."""

    max_items: Any = None
    max_items_path: jsonpath.JsonPath | None = None
    max_bytes: Any = None
    max_bytes_path: jsonpath.JsonPath | None = None
    batch_input: Any = None


@dataclass(frozen=True)
class State:
    """One state, all fields compiled. Fields that a type does not use stay at defaults."""

    name: str
    type: str
    pointer: str
    query_language: str = JSONPATH
    next: str | None = None
    end: bool = False
    # JSONPath input/output processing. ``has_*`` is false when the field is absent.
    has_input_path: bool = False
    input_path: jsonpath.JsonPath | None = None
    has_output_path: bool = False
    output_path: jsonpath.JsonPath | None = None
    has_result_path: bool = False
    result_path: str | None = "$"
    parameters: payload.Template | None = None
    result_selector: payload.Template | None = None
    has_result: bool = False
    result: Any = None
    # JSONata fields
    arguments: Any = None  # jsonata.Template
    output: Any = None  # jsonata.Template
    assign: Any = None  # payload.Template (JSONPath) or jsonata.Template
    # Task
    resource: str = ""
    timeout_seconds: Any = None  # number, or JSONata template
    timeout_seconds_path: jsonpath.JsonPath | None = None
    heartbeat_seconds: Any = None
    heartbeat_seconds_path: jsonpath.JsonPath | None = None
    credentials: Any = None
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()
    # Choice
    choices: tuple[choice_mod.ChoiceRule, ...] = ()
    default: str | None = None
    conditions: tuple[Any, ...] = ()  # JSONata: per rule, a compiled Condition
    rule_assign: tuple[Any, ...] = ()  # JSONata: per rule, its Assign template or None
    rule_output: tuple[Any, ...] = ()  # JSONata: per rule, its Output template or None
    # Wait
    seconds: Any = None
    timestamp: Any = None
    seconds_path: jsonpath.JsonPath | None = None
    timestamp_path: jsonpath.JsonPath | None = None
    # Fail
    error: Any = None
    cause: Any = None
    error_path: Any = None
    cause_path: Any = None
    # Parallel / Map
    branches: tuple[str, ...] = ()  # scope ids
    processor: str | None = None  # scope id of the Map's ItemProcessor / Iterator
    processor_mode: str = "INLINE"
    processor_execution_type: str = "STANDARD"  # a Distributed Map's child workflows
    items_path: jsonpath.JsonPath | None = None
    items: Any = None  # JSONata Items
    item_selector: Any = None  # payload.Template or jsonata.Template
    max_concurrency: Any = 0
    max_concurrency_path: jsonpath.JsonPath | None = None
    tolerated_failure_count: Any = None
    tolerated_failure_count_path: jsonpath.JsonPath | None = None
    tolerated_failure_percentage: Any = None
    tolerated_failure_percentage_path: jsonpath.JsonPath | None = None
    label: str | None = None
    item_reader: ItemIO | None = None
    item_batcher: ItemBatcher | None = None
    result_writer: ItemIO | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Scope:
    """A set of states with a start: the machine itself, a Parallel branch, a Map processor."""

    id: str
    start_at: str
    states: dict[str, State]


@dataclass(frozen=True)
class Machine:
    """A compiled state machine definition."""

    definition: str
    root: str
    scopes: dict[str, Scope]
    query_language: str = JSONPATH
    timeout_seconds: int | None = None
    comment: str | None = None
    uses_jsonata: bool = True
    """Has any state JSONata expressions (a JSONPath-only machine needs no CPU budget)."""

    def scope(self, scope_id: str) -> Scope:
        """The scope with this id."""
        return self.scopes[scope_id]


class _LazyJsonata:
    """Imports the JSONata adapter on first use: JSONPath-only machines never load it."""

    def __getattr__(self, name: str) -> Any:
        from opensfn.asl import jsonata as mod

        return getattr(mod, name)


jsonata: Any = _LazyJsonata()


def load_machine(definition: str) -> Machine:
    """Compile ``definition`` (JSON text). Raises :class:`DefinitionError`."""
    try:
        doc = orjson.loads(definition)
    except orjson.JSONDecodeError as exc:
        raise DefinitionError(f"Invalid JSON: {exc}", "/") from exc
    if not isinstance(doc, dict):
        raise DefinitionError("The definition must be a JSON object", "/")
    lang = doc.get("QueryLanguage", JSONPATH)
    scopes: dict[str, Scope] = {}
    _load_scope(doc, "root", "", lang, scopes)
    timeout = doc.get("TimeoutSeconds")
    return Machine(
        definition=definition,
        root="root",
        scopes=scopes,
        query_language=lang,
        timeout_seconds=int(timeout) if isinstance(timeout, int | float) else None,
        comment=doc.get("Comment"),
        uses_jsonata=any(
            state.query_language == JSONATA
            for scope in scopes.values()
            for state in scope.states.values()
        ),
    )


def _load_scope(
    doc: dict[str, Any], scope_id: str, pointer: str, lang: str, scopes: dict[str, Scope]
) -> None:
    states_doc = doc.get("States")
    start_at = doc.get("StartAt")
    if not isinstance(states_doc, dict) or not isinstance(start_at, str):
        raise DefinitionError("These fields are required: [StartAt, States]", pointer or "/")
    states: dict[str, State] = {}
    scopes[scope_id] = Scope(id=scope_id, start_at=start_at, states=states)
    for name, raw in states_doc.items():
        if not isinstance(raw, dict):
            raise DefinitionError("A state must be an object", f"{pointer}/States/{name}")
        states[name] = _load_state(name, raw, f"{pointer}/States/{name}", scope_id, lang, scopes)


def _path(raw: dict[str, Any], key: str) -> jsonpath.JsonPath | None:
    value = raw.get(key)
    return jsonpath.compile_path(value) if isinstance(value, str) else None


def _template(value: Any, pointer: str, field_name: str, lang: str) -> Any:
    if value is None:
        return None
    if lang == JSONATA:
        return jsonata.compile_template(value, pointer, field_name)
    return payload.compile_template(value, field_name)


def _jsonata_or_value(value: Any, pointer: str, field_name: str, lang: str) -> Any:
    """A literal field; in JSONata mode always a compiled template (constant or not)."""
    if lang == JSONATA:
        return jsonata.compile_template(value, pointer, field_name)
    return value


def _retriers(raw: Any) -> tuple[Retrier, ...]:
    if not isinstance(raw, list):
        return ()
    out = []
    for r in raw:
        out.append(
            Retrier(
                error_equals=tuple(r.get("ErrorEquals", ())),
                interval_seconds=float(r.get("IntervalSeconds", 1)),
                max_attempts=int(r.get("MaxAttempts", 3)),
                backoff_rate=float(r.get("BackoffRate", 2.0)),
                max_delay_seconds=(
                    float(r["MaxDelaySeconds"]) if r.get("MaxDelaySeconds") is not None else None
                ),
                jitter=str(r.get("JitterStrategy", "NONE")),
            )
        )
    return tuple(out)


def _catchers(raw: Any, pointer: str, lang: str) -> tuple[Catcher, ...]:
    if not isinstance(raw, list):
        return ()
    out = []
    for i, c in enumerate(raw):
        p = f"{pointer}/Catch/{i}"
        out.append(
            Catcher(
                error_equals=tuple(c.get("ErrorEquals", ())),
                next=c.get("Next", ""),
                result_path=c.get("ResultPath", "$"),
                # JSONata causes name a catcher's fields under its index, as AWS does
                assign=_template(
                    c.get("Assign"),
                    p + "/Assign",
                    f"Catch[{i}]/Assign" if lang == JSONATA else "Assign",
                    lang,
                ),
                output=_template(c.get("Output"), p + "/Output", f"Catch[{i}]/Output", lang)
                if lang == JSONATA and "Output" in c
                else None,
            )
        )
    return tuple(out)


def _load_state(
    name: str,
    raw: dict[str, Any],
    pointer: str,
    scope_id: str,
    machine_lang: str,
    scopes: dict[str, Scope],
) -> State:
    typ = raw.get("Type")
    if not isinstance(typ, str):
        raise DefinitionError("These fields are required: [Type]", pointer)
    lang = raw.get("QueryLanguage", machine_lang)
    kw: dict[str, Any] = {
        "name": name,
        "type": typ,
        "pointer": pointer,
        "query_language": lang,
        "next": raw.get("Next"),
        "end": bool(raw.get("End", False)),
        "raw": raw,
    }
    if "InputPath" in raw:
        kw["has_input_path"] = True
        kw["input_path"] = _path(raw, "InputPath")
    if "OutputPath" in raw:
        kw["has_output_path"] = True
        kw["output_path"] = _path(raw, "OutputPath")
    if "ResultPath" in raw:
        kw["has_result_path"] = True
        kw["result_path"] = raw["ResultPath"]
    if "Result" in raw:
        kw["has_result"] = True
        kw["result"] = raw["Result"]
    if lang == JSONPATH:
        for key, attr in (("Parameters", "parameters"), ("ResultSelector", "result_selector")):
            if key in raw:
                kw[attr] = payload.compile_template(raw[key], key)
    else:
        if "Arguments" in raw:
            kw["arguments"] = jsonata.compile_template(
                raw["Arguments"], pointer + "/Arguments", "Arguments"
            )
        if "Output" in raw:
            kw["output"] = jsonata.compile_template(raw["Output"], pointer + "/Output", "Output")
    if "Assign" in raw:
        kw["assign"] = _template(raw["Assign"], pointer + "/Assign", "Assign", lang)
    kw["retry"] = _retriers(raw.get("Retry"))
    kw["catch"] = _catchers(raw.get("Catch"), pointer, lang)
    _TYPE_LOADERS.get(typ, _load_nothing)(raw, pointer, scope_id, lang, scopes, kw)
    return State(**kw)


def _load_nothing(*_: Any) -> None:
    return None


def _load_task(
    raw: dict[str, Any], p: str, sid: str, lang: str, scopes: dict[str, Scope], kw: dict[str, Any]
) -> None:
    kw["resource"] = raw.get("Resource", "")
    for key, attr in (
        ("TimeoutSeconds", "timeout_seconds"),
        ("HeartbeatSeconds", "heartbeat_seconds"),
    ):
        if key in raw:
            kw[attr] = _jsonata_or_value(raw[key], f"{p}/{key}", key, lang)
    kw["timeout_seconds_path"] = _path(raw, "TimeoutSecondsPath")
    kw["heartbeat_seconds_path"] = _path(raw, "HeartbeatSecondsPath")
    if "Credentials" in raw:
        kw["credentials"] = _template(raw["Credentials"], p + "/Credentials", "Credentials", lang)


def _load_choice(
    raw: dict[str, Any], p: str, sid: str, lang: str, scopes: dict[str, Scope], kw: dict[str, Any]
) -> None:
    rules = []
    for i, rule in enumerate(raw.get("Choices") or []):
        rules.append(choice_mod.compile_choice_rule(rule, f"{p}/Choices/{i}"))
    kw["choices"] = tuple(rules)
    kw["default"] = raw.get("Default")
    if lang == JSONATA:
        conds, assigns, outputs = [], [], []
        for i, rule in enumerate(raw.get("Choices") or []):
            rp = f"{p}/Choices/{i}"
            field = f"Choices[{i}]"  # AWS names a rule's fields under its index in causes
            conds.append(
                jsonata.compile_template(
                    rule.get("Condition"), rp + "/Condition", f"{field}/Condition"
                )
            )
            assigns.append(
                jsonata.compile_template(rule["Assign"], rp + "/Assign", f"{field}/Assign")
                if "Assign" in rule
                else None
            )
            outputs.append(
                jsonata.compile_template(rule["Output"], rp + "/Output", f"{field}/Output")
                if "Output" in rule
                else None
            )
        kw["conditions"], kw["rule_assign"], kw["rule_output"] = (
            tuple(conds),
            tuple(assigns),
            tuple(outputs),
        )


def _load_wait(
    raw: dict[str, Any], p: str, sid: str, lang: str, scopes: dict[str, Scope], kw: dict[str, Any]
) -> None:
    for key, attr in (("Seconds", "seconds"), ("Timestamp", "timestamp")):
        if key in raw:
            kw[attr] = _jsonata_or_value(raw[key], f"{p}/{key}", key, lang)
    kw["seconds_path"] = _path(raw, "SecondsPath")
    kw["timestamp_path"] = _path(raw, "TimestampPath")


def _load_fail(
    raw: dict[str, Any], p: str, sid: str, lang: str, scopes: dict[str, Scope], kw: dict[str, Any]
) -> None:
    for key, attr in (("Error", "error"), ("Cause", "cause")):
        if key in raw:
            kw[attr] = _jsonata_or_value(raw[key], f"{p}/{key}", key, lang)
    # ErrorPath/CausePath take a reference path or an intrinsic function.
    for key, attr in (("ErrorPath", "error_path"), ("CausePath", "cause_path")):
        value = raw.get(key)
        if isinstance(value, str):
            kw[attr] = payload.compile_expression(value, key, f"{p}/{key}")


def _load_parallel(
    raw: dict[str, Any], p: str, sid: str, lang: str, scopes: dict[str, Scope], kw: dict[str, Any]
) -> None:
    ids = []
    for i, branch in enumerate(raw.get("Branches") or []):
        bid = f"{sid}/{kw['name']}/{i}"
        _load_scope(branch, bid, f"{p}/Branches/{i}", branch.get("QueryLanguage", lang), scopes)
        ids.append(bid)
    kw["branches"] = tuple(ids)


def _load_map(
    raw: dict[str, Any], p: str, sid: str, lang: str, scopes: dict[str, Scope], kw: dict[str, Any]
) -> None:
    proc = raw.get("ItemProcessor") or raw.get("Iterator")
    key = "ItemProcessor" if "ItemProcessor" in raw else "Iterator"
    if isinstance(proc, dict):
        pid = f"{sid}/{kw['name']}"
        _load_scope(proc, pid, f"{p}/{key}", proc.get("QueryLanguage", lang), scopes)
        kw["processor"] = pid
        cfg = proc.get("ProcessorConfig") or {}
        kw["processor_mode"] = cfg.get("Mode", "INLINE")
        kw["processor_execution_type"] = cfg.get("ExecutionType", "STANDARD")
    kw["items_path"] = _path(raw, "ItemsPath")
    if "Items" in raw and lang == JSONATA:
        kw["items"] = jsonata.compile_template(raw["Items"], p + "/Items", "Items")
    selector = raw.get("ItemSelector", raw.get("Parameters") if lang == JSONPATH else None)
    if selector is not None:
        kw["item_selector"] = _template(selector, p + "/ItemSelector", "ItemSelector", lang)
    # The legacy Map "Parameters" is its item selector, not a state-input template.
    kw["parameters"] = None
    for key, attr in (
        ("MaxConcurrency", "max_concurrency"),
        ("ToleratedFailureCount", "tolerated_failure_count"),
        ("ToleratedFailurePercentage", "tolerated_failure_percentage"),
    ):
        if key in raw:
            kw[attr] = _jsonata_or_value(raw[key], f"{p}/{key}", key, lang)
    kw["max_concurrency_path"] = _path(raw, "MaxConcurrencyPath")
    kw["tolerated_failure_count_path"] = _path(raw, "ToleratedFailureCountPath")
    kw["tolerated_failure_percentage_path"] = _path(raw, "ToleratedFailurePercentagePath")
    kw["label"] = raw.get("Label")
    kw["item_reader"] = _item_io(raw.get("ItemReader"), f"{p}/ItemReader", "ReaderConfig", lang)
    kw["result_writer"] = _item_io(
        raw.get("ResultWriter"), f"{p}/ResultWriter", "WriterConfig", lang
    )
    kw["item_batcher"] = _item_batcher(raw.get("ItemBatcher"), f"{p}/ItemBatcher", lang)


def _item_io(raw: Any, p: str, config_name: str, lang: str) -> ItemIO | None:
    if not isinstance(raw, dict):
        return None
    resource = raw.get("Resource")
    key = "Arguments" if lang == JSONATA else "Parameters"
    arguments = _template(raw.get(key), f"{p}/{key}", key, lang)
    config = raw.get(config_name)
    max_items_path = None
    if isinstance(config, dict):
        max_items_path = _path(config, "MaxItemsPath")
        if lang == JSONATA:
            config = jsonata.compile_template(config, f"{p}/{config_name}", config_name)
    else:
        config = None
    return ItemIO(
        resource=resource if isinstance(resource, str) else None,
        arguments=arguments,
        config=config,
        max_items_path=max_items_path,
    )


def _item_batcher(raw: Any, p: str, lang: str) -> ItemBatcher | None:
    if not isinstance(raw, dict):
        return None
    values = {}
    for key in ("MaxItemsPerBatch", "MaxInputBytesPerBatch"):
        values[key] = _jsonata_or_value(raw[key], f"{p}/{key}", key, lang) if key in raw else None
    return ItemBatcher(
        max_items=values["MaxItemsPerBatch"],
        max_items_path=_path(raw, "MaxItemsPerBatchPath"),
        max_bytes=values["MaxInputBytesPerBatch"],
        max_bytes_path=_path(raw, "MaxInputBytesPerBatchPath"),
        batch_input=_template(raw.get("BatchInput"), f"{p}/BatchInput", "BatchInput", lang),
    )


# State type → what it compiles beyond the common fields.
_TYPE_LOADERS = {
    "Task": _load_task,
    "Choice": _load_choice,
    "Wait": _load_wait,
    "Fail": _load_fail,
    "Parallel": _load_parallel,
    "Map": _load_map,
}
