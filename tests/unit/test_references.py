"""variableReferences as AWS answers DescribeStateMachine (recorded 2024-11-20 for these
definitions; the recording sorts each state's names, so they are compared sorted, and
the order opensfn gives, that of the definition, is checked on its own)."""

from __future__ import annotations

from typing import Any

import pytest

from opensfn.asl.references import variable_references


def _pass(**fields: Any) -> dict[str, Any]:
    return {"Type": "Pass", **fields}


def _map(processor: dict[str, Any], mode: str = "INLINE", **fields: Any) -> dict[str, Any]:
    config = {"Mode": mode} if mode == "INLINE" else {"Mode": mode, "ExecutionType": "STANDARD"}
    return {"Type": "Map", "ItemProcessor": {"ProcessorConfig": config, **processor}, **fields}


def _machine(**states: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": next(iter(states)), "States": states}


RECORDED: list[tuple[str, dict[str, Any], dict[str, list[str]]]] = [
    (
        "reference in Parameters (a value without .$ is literal text)",
        _machine(
            State0=_pass(
                Parameters={"result": "$result"}, Assign={"result": "foobar"}, Next="State1"
            ),
            State1=_pass(ResultPath="$.result", Parameters={"result.$": "$result"}, End=True),
        ),
        {"State1": ["result"]},
    ),
    (
        "reference in Choice",
        _machine(
            Setup=_pass(Assign={"guess": "the_guess", "answer": "the_answer"}, Next="CheckAnswer"),
            CheckAnswer={
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$guess", "StringEqualsPath": "$answer", "Next": "CorrectAnswer"}
                ],
                "Default": "WrongAnswer",
            },
            CorrectAnswer=_pass(Result={"state": "CORRECT"}, End=True),
            WrongAnswer=_pass(
                Assign={"guess.$": "$answer"}, Result={"state": "WRONG"}, Next="CheckAnswer"
            ),
        ),
        {"CheckAnswer": ["answer", "guess"], "WrongAnswer": ["answer"]},
    ),
    (
        "reference in Wait",
        _machine(
            Start=_pass(Assign={"waitTime": 0, "startAt": "date"}, Next="WaitSecondsState"),
            WaitSecondsState={"Type": "Wait", "SecondsPath": "$waitTime", "Next": "WaitUntilState"},
            WaitUntilState={"Type": "Wait", "TimestampPath": "$startAt", "End": True},
        ),
        {"WaitSecondsState": ["waitTime"], "WaitUntilState": ["startAt"]},
    ),
    (
        "reference from a nested iterator to outer scopes",
        _machine(
            Input=_pass(Result=[[9, 44, 6]], Assign={"bias": 4.3}, Next="IterateLevels"),
            IterateLevels=_map(
                {
                    "StartAt": "AssignCurrentVector",
                    "States": {
                        "AssignCurrentVector": _pass(
                            Assign={
                                "xCurrent.$": "$[0]",
                                "yCurrent.$": "$[1]",
                                "zCurrent.$": "$[2]",
                            },
                            Next="Calculate",
                        ),
                        "Calculate": _map(
                            {
                                "StartAt": "Summate",
                                "States": {
                                    "Summate": _pass(
                                        Assign={
                                            "Sum.$": "States.MathAdd(States.MathAdd(States.MathAdd("
                                            "$yCurrent, $xCurrent), $zCurrent), $bias)"
                                        },
                                        End=True,
                                    )
                                },
                            },
                            MaxConcurrency=1,
                            End=True,
                        ),
                    },
                },
                MaxConcurrency=1,
                End=True,
            ),
        ),
        {"Summate": ["bias", "xCurrent", "yCurrent", "zCurrent"]},
    ),
    (
        "reference in InputPath",
        _machine(
            State0=_pass(Assign={"theAnswer": 42}, Next="State1"),
            State1=_pass(InputPath="$theAnswer", End=True),
        ),
        {"State1": ["theAnswer"]},
    ),
    (
        "reference in intrinsic functions",
        _machine(
            State0=_pass(Assign={"rawString": "Hello"}, Next="State1"),
            State1=_pass(
                Parameters={
                    "encodingOps": {
                        "encoded.$": "States.Base64Encode($rawString)",
                        "decoded.$": "States.Base64Decode($encodedString)",
                    },
                    "hashOps": {"hashValue.$": "States.Hash($inputString, 'SHA-256')"},
                    "jsonOps": {
                        "mergedJson.$": "States.JsonMerge($json1, $json2, false)",
                        "parsedJson.$": "States.StringToJson($jsonString)",
                        "stringifiedJson.$": "States.JsonToString($jsonObject)",
                    },
                    "mathOps": {"sum.$": "States.MathAdd($value1, $value2)"},
                    "stringOps": {
                        "splitString.$": "States.StringSplit($csvString, ',')",
                        "formattedString.$": "States.Format('Hello {}, welcome to {}!', $name, $place)",
                    },
                    "uuidOp": {"uniqueId.$": "States.UUID()"},
                },
                End=True,
            ),
        ),
        {
            "State1": [
                "csvString",
                "encodedString",
                "inputString",
                "json1",
                "json2",
                "jsonObject",
                "jsonString",
                "name",
                "place",
                "rawString",
                "value1",
                "value2",
            ]
        },
    ),
    (
        "reference in Fail",
        _machine(
            Pass=_pass(Assign={"errorVar": "Exception", "causeVar": "An Exception"}, Next="Fail"),
            Fail={"Type": "Fail", "CausePath": "$causeVar", "ErrorPath": "$errorVar"},
        ),
        {"Fail": ["causeVar", "errorVar"]},
    ),
    (
        "assigning from the input refers to no variable",
        _machine(
            State0=_pass(
                Parameters={"input": "PENDING"}, Assign={"result.$": "$.input"}, Next="State1"
            ),
            State1=_pass(Assign={"result": "SUCCESS", "originalResult.$": "$.input"}, End=True),
        ),
        {},
    ),
    (
        "one name per state however often it is read",
        _machine(
            State0=_pass(Assign={"question.$": "$.theQuestion", "answer": 42}, Next="State1"),
            State1=_pass(
                InputPath="$answer",
                ResultPath="$.theAnswer",
                OutputPath="$answer",
                Assign={"answer": "<omitted>"},
                End=True,
            ),
        ),
        {"State1": ["answer"]},
    ),
    (
        "a Map's ItemSelector counts for the Map, its processor's states for themselves",
        _machine(
            Start=_pass(
                Assign={"AnswerTemplate": "It's {}!", "Question": "?"}, Next="MapIterateState"
            ),
            MapIterateState=_map(
                {
                    "StartAt": "Pass",
                    "States": {
                        "Pass": _pass(
                            Parameters={"Question.$": "$Question", "Answer.$": "$.AnnouncePokemon"},
                            End=True,
                        )
                    },
                },
                MaxConcurrency=1,
                ItemSelector={
                    "AnnouncePokemon.$": "States.Format($AnswerTemplate, $$.Map.Item.Value)"
                },
                End=True,
            ),
        ),
        {"MapIterateState": ["AnswerTemplate"], "Pass": ["Question"]},
    ),
    (
        "Map paths: ItemsPath, MaxConcurrencyPath",
        _machine(
            Start=_pass(Assign={"PokemonList": [], "maxConcurrency": "1"}, Next="MapState"),
            MapState=_map(
                {"StartAt": "HandleItem", "States": {"HandleItem": _pass(End=True)}},
                ItemsPath="$PokemonList",
                MaxConcurrencyPath="$maxConcurrency",
                End=True,
            ),
        ),
        {"MapState": ["PokemonList", "maxConcurrency"]},
    ),
    (
        "Distributed Map: tolerated failure paths",
        _machine(
            Start=_pass(Assign={"p": "1", "c": "1"}, Next="MapState"),
            MapState=_map(
                {"StartAt": "HandleItem", "States": {"HandleItem": _pass(End=True)}},
                mode="DISTRIBUTED",
                ItemsPath="$.Values",
                ToleratedFailurePercentagePath="$toleratedFailurePercentage",
                ToleratedFailureCountPath="$toleratedFailureCount",
                End=True,
            ),
        ),
        {"MapState": ["toleratedFailureCount", "toleratedFailurePercentage"]},
    ),
    (
        "Distributed Map: a literal ItemSelector value is no reference",
        _machine(
            Start=_pass(Assign={"bucket": "test-name"}, Next="MapState"),
            MapState=_map(
                {"StartAt": "MapPass", "States": {"MapPass": _pass(End=True)}},
                mode="DISTRIBUTED",
                ItemSelector={"value.$": "$$.Map.Item.Value", "bucketName": "$bucket"},
                End=True,
            ),
        ),
        {},
    ),
    (
        "ItemReader's MaxItemsPath",
        _machine(
            Start=_pass(Assign={"maxItems": "2"}, Next="MapState"),
            MapState=_map(
                {"StartAt": "PassItem", "States": {"PassItem": _pass(End=True)}},
                mode="DISTRIBUTED",
                ItemReader={
                    "ReaderConfig": {"InputType": "JSON", "MaxItemsPath": "$maxItems"},
                    "Resource": "arn:aws:states:::s3:getObject",
                    "Parameters": {"Bucket.$": "$.Bucket", "Key.$": "$.Key"},
                },
                End=True,
            ),
        ),
        {"MapState": ["maxItems"]},
    ),
    (
        "JSONata: its expressions' variables are not listed",
        {
            "StartAt": "CheckResult",
            "States": {
                "CheckResult": {
                    "Type": "Choice",
                    "QueryLanguage": "JSONata",
                    "Choices": [
                        {"Condition": "{% $states.input.result.done %}", "Next": "FinishTrue"},
                        {
                            "Condition": "{% $not($states.input.result.done) %}",
                            "Next": "FinishFalse",
                        },
                    ],
                },
                "FinishTrue": {"End": True, "Type": "Pass"},
                "FinishFalse": {"End": True, "Type": "Pass"},
            },
        },
        {},
    ),
]


@pytest.mark.parametrize(
    "definition, expected", [c[1:] for c in RECORDED], ids=[c[0] for c in RECORDED]
)
def test_variable_references_as_aws_records_them(
    definition: dict[str, Any], expected: dict[str, list[str]]
) -> None:
    found = variable_references(definition)
    assert {state: sorted(names) for state, names in found.items()} == expected


def test_names_come_in_the_order_of_the_definition_once_each() -> None:
    definition = _machine(
        Check={
            "Type": "Choice",
            "Choices": [
                {
                    "And": [
                        {"Variable": "$zeta", "IsPresent": True},
                        {"Variable": "$alpha", "NumericGreaterThanPath": "$zeta"},
                    ],
                    "Next": "Work",
                }
            ],
            "Default": "Work",
        },
        Work={
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "TimeoutSecondsPath": "$limit",
            "Parameters": {"FunctionName": "$notAReference", "Payload.$": "$payload"},
            "ResultSelector": {"status.$": "States.Format('{}', $status)"},
            "Catch": [
                {"ErrorEquals": ["States.ALL"], "Assign": {"error.$": "$lastError"}, "Next": "Done"}
            ],
            "Next": "Done",
        },
        Done={
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "Inner", "States": {"Inner": _pass(OutputPath="$inner", End=True)}}
            ],
            "End": True,
        },
    )
    assert variable_references(definition) == {
        "Check": ["zeta", "alpha"],
        "Work": ["limit", "payload", "status", "lastError"],
        "Inner": ["inner"],
    }
    assert variable_references({"not": "a machine"}) == {}
    assert variable_references([]) == {}
