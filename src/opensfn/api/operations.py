"""The operation table: ``X-Amz-Target: AWSStepFunctions.<Op>`` -> handler.

Rules: each handler is ``async (RequestContext, params) -> dict | bytes`` where params
were already checked against the botocore model (required members, types, lengths,
enums); a dict is encoded as JSON, bytes are sent as they are (already JSON); errors
are raised as ``opensfn.errors.ApiError``. Every operation of the botocore model has an
entry (a test checks it); a name absent here answers UnknownOperationException.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from opensfn.api import (
    activities,
    executions,
    express,
    machines,
    map_runs,
    redrive,
    tags,
    test_state,
    versions,
)
from opensfn.api.context import RequestContext

Handler = Callable[[RequestContext, dict[str, Any]], Awaitable[dict[str, Any] | bytes]]

OPERATIONS: dict[str, Handler] = {
    "CreateActivity": activities.create_activity,
    "CreateStateMachine": machines.create_state_machine,
    "DeleteActivity": activities.delete_activity,
    "DeleteStateMachine": machines.delete_state_machine,
    "DescribeActivity": activities.describe_activity,
    "DescribeExecution": executions.describe_execution,
    "DescribeStateMachine": machines.describe_state_machine,
    "DescribeStateMachineForExecution": machines.describe_state_machine_for_execution,
    "GetActivityTask": activities.get_activity_task,
    "GetExecutionHistory": executions.get_execution_history,
    "ListActivities": activities.list_activities,
    "ListExecutions": executions.list_executions,
    "ListStateMachines": machines.list_state_machines,
    "ListTagsForResource": tags.list_tags_for_resource,
    "SendTaskFailure": activities.send_task_failure,
    "SendTaskHeartbeat": activities.send_task_heartbeat,
    "SendTaskSuccess": activities.send_task_success,
    "StartExecution": executions.start_execution,
    "StopExecution": executions.stop_execution,
    "TagResource": tags.tag_resource,
    "UntagResource": tags.untag_resource,
    "UpdateStateMachine": machines.update_state_machine,
    "ValidateStateMachineDefinition": machines.validate_state_machine_definition,
    # Express, versions and aliases, map runs, redrive, TestState.
    "StartSyncExecution": express.start_sync_execution,
    "PublishStateMachineVersion": versions.publish_state_machine_version,
    "ListStateMachineVersions": versions.list_state_machine_versions,
    "DeleteStateMachineVersion": versions.delete_state_machine_version,
    "CreateStateMachineAlias": versions.create_state_machine_alias,
    "DescribeStateMachineAlias": versions.describe_state_machine_alias,
    "UpdateStateMachineAlias": versions.update_state_machine_alias,
    "DeleteStateMachineAlias": versions.delete_state_machine_alias,
    "ListStateMachineAliases": versions.list_state_machine_aliases,
    "DescribeMapRun": map_runs.describe_map_run,
    "ListMapRuns": map_runs.list_map_runs,
    "UpdateMapRun": map_runs.update_map_run,
    "RedriveExecution": redrive.redrive_execution,
    "TestState": test_state.test_state,
}
