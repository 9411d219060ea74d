"""Static rules of Choice rules (``Choices[i]``), with AWS's messages.

JSONPath mode: a rule is a comparison (``Variable`` + exactly one operator) or a
combination (``And``/``Or`` a non-empty list of rules, ``Not`` one rule). Top-level
rules must have ``Next``; nested rules may not. JSONata mode: a rule is a
``Condition`` (a string, usually ``{% ... %}``) and ``Next``.
"""

from __future__ import annotations

from typing import Any

from opensfn.asl import schema
from opensfn.asl.path_syntax import path_ok, reference_path_problem

# Comparison operators -> the JSON type their literal operand must have. Rules: every
# operator but the Is* tests also exists with a "Path" suffix whose operand is a path;
# Timestamp literals must also be RFC 3339 strings.
_FAMILIES = {
    "String": ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals"),
    "Numeric": ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals"),
    "Boolean": ("Equals",),
    "Timestamp": ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals"),
}
_OPERAND = {"String": "String", "Numeric": "Number", "Boolean": "Boolean", "Timestamp": "String"}
OPERATORS: dict[str, str] = {
    f"{family}{op}": _OPERAND[family] for family, ops in _FAMILIES.items() for op in ops
}
OPERATORS["StringMatches"] = "String"
PATH_OPERATORS = frozenset(f"{name}Path" for name in OPERATORS if name != "StringMatches")
OPERATORS.update(
    {f"Is{t}": "Boolean" for t in ("Null", "Present", "Numeric", "String", "Boolean", "Timestamp")}
)
COMBINATORS = ("And", "Or", "Not")


def check_rule(out: schema.Out, rule: Any, location: str, jsonata: bool, *, top: bool) -> None:
    """Append the diagnostics of one Choice rule (and of its nested rules)."""
    if not schema.typed(out, rule, "Object", location):
        return
    if jsonata:
        _jsonata_rule(out, rule, location)
        return
    flow = {"Next", "Assign", "Comment"} if top else {"Comment"}
    allowed = frozenset({*flow, "Variable", *OPERATORS, *PATH_OPERATORS, *COMBINATORS})
    schema.allowed_only(out, rule, allowed, location)
    if top:
        schema.required(out, rule, ("Next",), location)
        if "Next" in rule:
            schema.typed(out, rule["Next"], "String", f"{location}/Next")
        if "Assign" in rule:
            schema.payload(out, rule["Assign"], f"{location}/Assign")
    operators = [k for k in rule if k in OPERATORS or k in PATH_OPERATORS or k in COMBINATORS]
    if len(operators) > 1:
        schema.error(
            out,
            f"There should only be one of the following fields: [{', '.join(operators)}]",
            location,
        )
        return
    if not operators:
        schema.error(out, "A Choice Rule must have exactly one comparison operator", location)
        return
    operator = operators[0]
    if operator in COMBINATORS:
        _combination(out, rule, operator, location)
    else:
        _comparison(out, rule, operator, location)


def _combination(out: schema.Out, rule: dict[str, Any], operator: str, location: str) -> None:
    if "Variable" in rule:
        schema.error(out, "Field 'Variable' is not supported", location)
    value, at = rule[operator], f"{location}/{operator}"
    if operator == "Not":
        check_rule(out, value, at, False, top=False)
        return
    if not schema.typed(out, value, "Array", at):
        return
    if not value:
        schema.error(out, "Value cannot be empty", at)
    for i, nested in enumerate(value):
        check_rule(out, nested, f"{at}[{i}]", False, top=False)


def _comparison(out: schema.Out, rule: dict[str, Any], operator: str, location: str) -> None:
    schema.required(out, rule, ("Variable",), location)
    variable = rule.get("Variable")
    if "Variable" in rule and schema.typed(out, variable, "String", f"{location}/Variable"):
        problem = _variable_problem(str(variable))
        if problem:
            schema.error(out, problem, f"{location}/Variable")
    value, at = rule[operator], f"{location}/{operator}"
    if operator in PATH_OPERATORS:
        if schema.typed(out, value, "String", at) and not (
            value.startswith("$") and path_ok(value)
        ):
            problem = reference_path_problem(value, context=True)
            schema.error(out, problem or "Value must be a valid JSONPath.", at)
        return
    if (
        schema.typed(out, value, OPERATORS[operator], at)
        and operator.startswith("Timestamp")
        and not schema.is_timestamp(value)
    ):
        schema.error(out, "String does not match RFC3339 timestamp", at)


def _variable_problem(variable: str) -> str | None:
    # Variable is a path into the input, the context object or a variable; AWS accepts
    # any JSONPath here (filters included) as long as it starts with '$'.
    if not variable.startswith("$"):
        return "Value is not a Reference Path: Reference path didn't start with '$'"
    return None if path_ok(variable) else "Value must be a valid JSONPath."


def _jsonata_rule(out: schema.Out, rule: dict[str, Any], location: str) -> None:
    allowed = frozenset({"Condition", "Next", "Comment", "Assign", "Output"})
    for name in rule:
        if name in allowed:
            continue
        if name == "Variable" or name in OPERATORS or name in PATH_OPERATORS or name in COMBINATORS:
            schema.error(
                out,
                f"The QueryLanguage is set to 'JSONata', but field '{name}' is only supported "
                "for the 'JSONPath' QueryLanguage",
                location,
            )
        else:
            schema.error(out, f"Field '{name}' is not supported", location)
    schema.required(out, rule, ("Condition", "Next"), location)
    condition = rule.get("Condition")
    if "Condition" in rule and not isinstance(condition, bool):
        schema.typed(out, condition, "String", f"{location}/Condition")
