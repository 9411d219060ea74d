"""Every self-contained AWS-recorded execution case, replayed on the pure engine.

Known divergences are listed by name: such a case must keep failing, so that the list
shrinks the day the behaviour is fixed (the test then says so).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from tests.conformance.corpus import CORPUS_DIR, engine_cases, replay, runner_module

if not (CORPUS_DIR / "cases.jsonl").exists():  # pragma: no cover - the corpus is beside the repo
    pytest.skip(f"conformance corpus not found at {CORPUS_DIR}", allow_module_level=True)

# AWS runs Distributed Map children concurrently, so which event the MapStateExited of a
# distributed map chains to is a race in the recordings (MapRunStarted in these, and
# MapRunSucceeded in the others); opensfn always chains to MapRunSucceeded.
KNOWN_DIVERGENCES = {
    "tests/aws/services/stepfunctions/v2/scenarios/test_base_scenarios.py::TestBaseScenarios::test_map_state_config_distributed_item_selector_parameters",
    "tests/aws/services/stepfunctions/v2/assign/test_assign_reference_variables.py::TestAssignReferenceVariables::test_reference_in_map_state[MAP_STATE_REFERENCE_IN_ITEM_SELECTOR]",
    "tests/aws/services/stepfunctions/v2/assign/test_assign_reference_variables.py::TestAssignReferenceVariables::test_reference_in_map_state[MAP_STATE_REFERENCE_IN_TOLERATED_FAILURE_PATH]",
}

CASES = engine_cases() if (CORPUS_DIR / "cases.jsonl").exists() else []


@pytest.fixture(scope="module")
def rc() -> ModuleType:
    return runner_module()


@pytest.mark.parametrize("case", CASES, ids=[c["case_id"].split("::")[-1] for c in CASES])
def test_recorded_case(rc: ModuleType, case: dict[str, Any]) -> None:
    outcome = replay(rc, case)
    if case["case_id"] in KNOWN_DIVERGENCES:
        assert not outcome.passed, "a known divergence now passes: remove it from the list"
    else:
        assert outcome.passed, outcome.detail


def test_corpus_is_there() -> None:
    assert len(CASES) > 600
