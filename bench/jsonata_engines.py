"""Compare JSONata engines on JSONata's own test suite and on Step Functions-style expressions.

Usage (each engine in an interpreter where it is installed; jsonata-python and jsonata-rs
both install a top-level ``jsonata`` package, so they need separate environments)::

    python bench/jsonata_engines.py --suite PATH/TO/jsonata-test-suite --engine jsonata-python
    python bench/jsonata_engines.py --suite ... --engine all      # every engine importable here

``PATH/TO/jsonata-test-suite`` holds ``groups/*/case*.json`` and ``datasets/*.json`` as in
the jsonata-js repository (``test/test-suite``); a copy ships in the ``jsonata2py`` sdist.

A case passes when the engine gives the expected result (compared strictly: ``true`` is not
``1``), ``undefined`` where ``undefinedResult`` is set, or an error with the expected code
(or any error, for engines that expose no code). Cases time out after 5 s. The figures are
printed, never asserted: benchmarks do not gate CI.
"""

from __future__ import annotations

import argparse
import json
import signal
import timeit
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

UNDEFINED = object()  # an engine's "no value", normalised
Run = Callable[[Any, dict[str, Any]], Any]  # (input, bindings) -> result or UNDEFINED


class EngineError(Exception):
    """An error raised by an engine, normalised: ``code`` is the JSONata code or None."""

    def __init__(self, code: str | None, message: str) -> None:
        super().__init__(message)
        self.code = code


# --------------------------------------------------------------------------- adapters
# Each adapter: compile(expr) -> run(input, bindings). Every engine is wrapped the same way:
# undefined -> UNDEFINED, JSON null -> None, errors -> EngineError(code).


def _jsonata_python(expr: str) -> Run:
    import jsonata  # type: ignore[import-untyped]

    compiled = jsonata.Jsonata(expr)
    compiled.set_output_convert_nulls(False)

    def run(data: Any, bindings: dict[str, Any]) -> Any:
        try:
            out = compiled.evaluate(data, bindings or None)
        except jsonata.JException as exc:
            raise EngineError(exc.error, str(exc)) from None
        return UNDEFINED if out is None else jsonata.Utils.convert_nulls(out)

    return run


def _jsonatapy(expr: str) -> Run:
    import jsonatapy  # type: ignore[import-untyped]

    try:
        compiled = jsonatapy.compile(expr)
    except ValueError as exc:
        raise EngineError(_code_prefix(str(exc)), str(exc)) from None

    def run(data: Any, bindings: dict[str, Any]) -> Any:
        try:
            text = compiled.evaluate_json_or_none(json.dumps(data), bindings or None, timeout=5000)
        except ValueError as exc:
            raise EngineError(_code_prefix(str(exc)), str(exc)) from None
        return UNDEFINED if text is None else json.loads(text)

    return run


def _jlens(expr: str) -> Run:
    import jlens  # type: ignore[import-untyped]

    try:
        compiled = jlens.Expression(expr)
    except jlens.JlensError as exc:
        raise EngineError(exc.code, str(exc)) from None

    def run(data: Any, bindings: dict[str, Any]) -> Any:
        try:
            text = compiled.evaluate_json(json.dumps(data), bindings or None, timeout=5.0)
        except jlens.JlensError as exc:
            raise EngineError(exc.code, str(exc)) from None
        return UNDEFINED if text is None else json.loads(text)

    return run


def _native_with_sentinel(module: Any, expr: str) -> Run:
    """jsonata-rs and zopyx.pyjsonata: ``Jsonata(expr)`` with an UNDEFINED sentinel."""
    try:
        compiled = module.Jsonata(expr)
    except Exception as exc:
        raise EngineError(getattr(exc, "code", None) or _code_prefix(str(exc)), str(exc)) from None
    if hasattr(compiled, "set_output_convert_nulls"):
        compiled.set_output_convert_nulls(False)
    if hasattr(compiled, "set_runtime_bounds"):
        compiled.set_runtime_bounds(5000, 1000)

    def run(data: Any, bindings: dict[str, Any]) -> Any:
        try:
            if module.__name__.startswith("zopyx"):
                out = compiled.evaluate(data, bindings or None, 1000, 5000)
            else:
                out = compiled.evaluate(data, bindings or None)
        except Exception as exc:
            code = getattr(exc, "code", None) or _code_prefix(str(exc))
            raise EngineError(code, str(exc)) from None
        return UNDEFINED if out is module.UNDEFINED else out

    return run


def _jsonata_rs(expr: str) -> Run:
    import jsonata

    return _native_with_sentinel(jsonata, expr)


def _zopyx(expr: str) -> Run:
    from zopyx import pyjsonata  # type: ignore[import-not-found]

    return _native_with_sentinel(pyjsonata, expr)


def _jsonata2py(expr: str) -> Run:
    import jsonata2py  # type: ignore[import-untyped]
    from jsonata2py.bindings import JsonataBindings  # type: ignore[import-untyped]
    from jsonata2py.errors import (  # type: ignore[import-untyped]
        JsonataCompilationError,
        JsonataEvaluationError,
    )
    from jsonata2py.runtime.values import MISSING  # type: ignore[import-untyped]

    errors = (JsonataCompilationError, JsonataEvaluationError)
    try:
        compiled = jsonata2py.JsonataExpressionFactory().compile(expr)
    except errors as exc:
        raise EngineError(exc.error_code, str(exc)) from None

    def run(data: Any, bindings: dict[str, Any]) -> Any:
        frame = JsonataBindings()
        for name, value in bindings.items():
            frame.bind_value(name, value)
        try:
            out = compiled.evaluate(data, frame)
        except errors as exc:
            raise EngineError(exc.error_code, str(exc)) from None
        return UNDEFINED if out is MISSING else out

    return run


def _code_prefix(message: str) -> str | None:
    """Engines that only put the code in the message: ``T1006: ...`` / ``... S0203: ...``."""
    for word in message.replace("@", " ").replace(":", " ").split():
        if len(word) == 5 and word[0] in "STDU" and word[1:].isdigit():
            return word
    return None


ENGINES: dict[str, Callable[[str], Run]] = {
    "jsonata-python": _jsonata_python,
    "jsonatapy": _jsonatapy,
    "jlens": _jlens,
    "jsonata-rs": _jsonata_rs,
    "zopyx-pyjsonata": _zopyx,
    "jsonata2py": _jsonata2py,
}


# --------------------------------------------------------------------------- test suite


def _strict_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b or abs(a - b) <= 1e-9 * max(abs(a), abs(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_strict_equal, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_strict_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _cases(suite: Path) -> list[tuple[str, dict[str, Any], str]]:
    out = []
    for path in sorted((suite / "groups").rglob("*.json")):
        content = json.loads(path.read_text(encoding="utf-8"))
        for case in content if isinstance(content, list) else [content]:
            if "expr-file" in case:
                expr = (path.parent / case["expr-file"]).read_text(encoding="utf-8")
            else:
                expr = case.get("expr")
            if expr is not None:
                out.append((str(path.relative_to(suite / "groups")), case, expr))
    return out


def _timeout(_signum: int, _frame: Any) -> None:
    raise TimeoutError


def run_suite(engine: str, suite: Path) -> tuple[int, int, dict[str, int]]:
    """Run every case; return (passed, total, failures per group)."""
    datasets: dict[str, Any] = {}
    compile_ = ENGINES[engine]
    passed, total, failed_groups = 0, 0, dict[str, int]()
    signal.signal(signal.SIGALRM, _timeout)
    for name, case, expr in _cases(suite):
        total += 1
        if "data" in case:
            data = case["data"]
        elif case.get("dataset"):
            ds = case["dataset"]
            if ds not in datasets:
                datasets[ds] = json.loads((suite / "datasets" / f"{ds}.json").read_text())
            data = datasets[ds]
        else:
            data = None
        want_code = case.get("code") or (case.get("error") or {}).get("code")
        signal.alarm(5)
        try:
            got: Any = compile_(expr)(data, case.get("bindings") or {})
            if want_code:
                ok = False
            elif case.get("undefinedResult"):
                ok = got is UNDEFINED
            else:
                ok = got is not UNDEFINED and _strict_equal(got, case.get("result"))
        except EngineError as exc:
            ok = bool(want_code) and (exc.code is None or exc.code == want_code)
        except (Exception, BaseException) as exc:  # a crash (pyo3 panics are BaseException)
            if isinstance(exc, KeyboardInterrupt):
                raise
            ok = False
        finally:
            signal.alarm(0)
        passed += ok
        if not ok:
            group = name.split("/")[0]
            failed_groups[group] = failed_groups.get(group, 0) + 1
    return passed, total, failed_groups


# --------------------------------------------------------------------------- speed

STATES = {
    "input": {
        "x": 41,
        "name": "World",
        "id": "order-17",
        "items": [{"name": f"item{i}", "price": i * 3.5} for i in range(10)],
    },
    "context": {"Execution": {"Id": "arn:aws:states:us-east-1:1:execution:m:e", "Name": "e"}},
}

# Typical Step Functions expressions: field access, string building, aggregation, an
# object built from the input, a filter.
SPEED_EXPRESSIONS = {
    "arith": "$states.input.x + 1",
    "concat": "'Hello, ' & $states.input.name & '!'",
    "count": "$count($states.input.items)",
    "object": "{'id': $states.input.id, 'total': $sum($states.input.items.price), "
    "'first': $states.input.items[0].name}",
    "filter": "$states.input.items[price > 10].name",
}


def run_speed(engine: str) -> dict[str, float]:
    """Microseconds per evaluation of each expression, compiled once, best of 5 runs."""
    compile_ = ENGINES[engine]
    out: dict[str, float] = {}
    for label, expr in SPEED_EXPRESSIONS.items():
        run = compile_(expr)
        bindings = {"states": STATES}
        run(None, bindings)
        number = 2000
        best = min(timeit.repeat(partial(run, None, bindings), number=number, repeat=5))
        out[label] = best / number * 1e6
    compile_time = min(timeit.repeat(lambda: compile_(SPEED_EXPRESSIONS["object"]), number=200))
    out["compile(object)"] = compile_time / 200 * 1e6
    return out


def run_adapter_speed() -> dict[str, float]:
    """Microseconds per ``Expression.evaluate`` of opensfn's adapter (50 variables bound)."""
    from opensfn.asl.jsonata import compile_expression

    class Env:
        new_uuid = staticmethod(lambda: "uuid")
        random = staticmethod(lambda: 0.5)

    variables = {f"v{i}": i for i in range(50)}
    out: dict[str, float] = {}
    for label, expr in {**SPEED_EXPRESSIONS, "variable": "$v7 * 2"}.items():
        compiled = compile_expression(expr, "/bench")
        call = partial(compiled.evaluate, STATES, variables, Env(), "Output")
        best = min(timeit.repeat(call, number=5000, repeat=5))
        out[label] = best / 5000 * 1e6
    return out


def main() -> None:
    """Parse arguments, run the suite and the speed test per engine, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", type=Path)
    parser.add_argument("--engine", default="all", choices=[*ENGINES, "all"])
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--adapter", action="store_true", help="time opensfn's adapter only")
    args = parser.parse_args()
    if args.adapter:
        speed = run_adapter_speed()
        print("opensfn adapter: µs/eval " + ", ".join(f"{k}={v:.1f}" for k, v in speed.items()))
        return
    for engine in ENGINES if args.engine == "all" else [args.engine]:
        try:
            ENGINES[engine]("1")
        except ImportError:
            print(f"{engine}: not installed here")
            continue
        if args.suite is None:
            parser.error("--suite is required to run the test suite")
        passed, total, groups = run_suite(engine, args.suite)
        worst = sorted(groups.items(), key=lambda kv: -kv[1])[:6]
        print(f"{engine}: suite {passed}/{total} ({100 * passed / total:.1f}%) worst: {worst}")
        if not args.no_speed:
            speed = run_speed(engine)
            print(f"{engine}: µs/eval " + ", ".join(f"{k}={v:.1f}" for k, v in speed.items()))


if __name__ == "__main__":
    main()
