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

# A Distributed Map's MapStateExited chains to its MapRunStarted event in every recording
# made since November 2024 (the newest from October 2025) and to MapRunSucceeded in every
# recording made before; opensfn follows AWS as it is now, so the older recordings differ.
KNOWN_DIVERGENCES = {
    "tests/aws/services/stepfunctions/v2/scenarios/test_base_scenarios.py::TestBaseScenarios::test_map_state_config_distributed_item_selector",
    "tests/aws/services/stepfunctions/v2/scenarios/test_base_scenarios.py::TestBaseScenarios::test_map_state_legacy_config_distributed",
    "tests/aws/services/stepfunctions/v2/scenarios/test_base_scenarios.py::TestBaseScenarios::test_map_state_legacy_config_distributed_item_selector",
    "tests/aws/services/stepfunctions/v2/scenarios/test_base_scenarios.py::TestBaseScenarios::test_map_state_tolerated_failure_count_path[1]",
    "tests/aws/services/stepfunctions/v2/scenarios/test_base_scenarios.py::TestBaseScenarios::test_map_state_tolerated_failure_percentage_path[0]",
    "tests/aws/services/stepfunctions/v2/scenarios/test_base_scenarios.py::TestBaseScenarios::test_map_state_tolerated_failure_percentage_path[1.1]",
    "tests/aws/services/stepfunctions/v2/scenarios/test_base_scenarios.py::TestBaseScenarios::test_map_state_tolerated_failure_percentage_path[100]",
    "tests/aws/services/stepfunctions/v2/scenarios/test_base_scenarios.py::TestBaseScenarios::test_map_state_tolerated_failure_percentage_path[1]",
    "tests/aws/services/stepfunctions/v2/scenarios/test_base_scenarios.py::TestBaseScenarios::test_map_state_tolerated_failure_values[count_literal]",
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
