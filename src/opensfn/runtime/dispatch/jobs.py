"""Run a Job (``.sync``) for the optimized integrations that start a job: the start call's
answer is reported as ``TaskSubmitted``, then the job is described until it ends and
the Task succeeds with the job's final description or fails with it.

How each service is followed (what identifies the job in the start call's answer, the
call that describes it, when it has ended and whether it succeeded):

- ``ecs:runTask.sync``: ``Tasks[0].TaskArn`` in ``Tasks[0].ClusterArn``, DescribeTasks until
  ``LastStatus`` is STOPPED; the output is the task itself (as AWS records it: the task
  object, PascalCase, no HTTP metadata). It failed when it could not start or an
  essential container exited non-zero.
- ``glue:startJobRun.sync``: ``JobRunId`` of ``JobName``, GetJobRun until the run is
  SUCCEEDED, FAILED, STOPPED, TIMEOUT or ERROR; the output is the ``JobRun``.
- ``batch:submitJob.sync``: ``JobId``, DescribeJobs until SUCCEEDED or FAILED; the output
  is the job.
- ``athena:startQueryExecution.sync``: ``QueryExecutionId``, GetQueryExecution until
  SUCCEEDED, FAILED or CANCELLED; the output is GetQueryExecution's answer.
- ``codebuild:startBuild.sync``: ``Build.Id``, BatchGetBuilds until the build is no longer
  IN_PROGRESS; the output is ``{"Build": ...}`` as StartBuild answers.

A job that ends unsuccessfully fails the Task with ``States.TaskFailed`` and the final
description as the cause (JSON). When the Task stops waiting for it (its execution was
stopped or failed elsewhere, the Task timed out) the job is stopped, as AWS does: the IAM
policies AWS documents for these ``.sync`` integrations grant exactly that call
(``ecs:StopTask``, ``glue:BatchStopJobRun``, ``batch:TerminateJob``,
``athena:StopQueryExecution``, ``codebuild:StopBuild``). A server shutting down leaves
its jobs running. The job is described every second at first, then less
often (up to every 10 s): the interval a service's job takes does not call for more.
After a restart, a submitted job is followed again from the answer its TaskSubmitted
event recorded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from opensfn.engine.protocol import ScheduleTask, TaskSubmitted
from opensfn.runtime.dispatch import host as h

LOG = logging.getLogger("opensfn.dispatch")

FIRST_INTERVAL = 1.0
MAX_INTERVAL = 10.0


@dataclass(frozen=True)
class Job:
    """How one service's job is followed (see the module docstring)."""

    describe: Callable[[dict[str, Any]], tuple[str, str, dict[str, Any]]]
    """The start call's answer -> (service, operation, parameters) that describe the job."""
    final: Callable[[dict[str, Any]], dict[str, Any] | None]
    """The describe call's answer -> the output once the job has ended (else None)."""
    succeeded: Callable[[dict[str, Any]], bool]
    """Did the ended job (the output) succeed?"""
    stop: Callable[[dict[str, Any]], tuple[str, str, dict[str, Any]]]
    """The start call's answer -> the call that stops the job."""


def _ecs_describe(started: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    task = (started.get("Tasks") or [{}])[0]
    return (
        "ecs",
        "describeTasks",
        {"Cluster": task.get("ClusterArn"), "Tasks": [task.get("TaskArn")]},
    )


def _ecs_final(described: dict[str, Any]) -> dict[str, Any] | None:
    tasks = described.get("Tasks") or []
    if not tasks:
        return {"Failures": described.get("Failures") or []}
    task: dict[str, Any] = tasks[0]
    return task if task.get("LastStatus") == "STOPPED" else None


def _ecs_succeeded(task: dict[str, Any]) -> bool:
    if "TaskArn" not in task or task.get("StopCode") == "TaskFailedToStart":
        return False
    return all(c.get("ExitCode", 0) == 0 for c in task.get("Containers") or ())


def _glue_final(described: dict[str, Any]) -> dict[str, Any] | None:
    run: dict[str, Any] = described.get("JobRun") or {}
    ended = {"SUCCEEDED", "FAILED", "STOPPED", "TIMEOUT", "ERROR"}
    return run if run.get("JobRunState") in ended else None


def _batch_final(described: dict[str, Any]) -> dict[str, Any] | None:
    jobs = described.get("Jobs") or []
    if not jobs:
        return {}
    job: dict[str, Any] = jobs[0]
    return job if job.get("Status") in ("SUCCEEDED", "FAILED") else None


def _athena_final(described: dict[str, Any]) -> dict[str, Any] | None:
    state = ((described.get("QueryExecution") or {}).get("Status") or {}).get("State")
    return described if state in ("SUCCEEDED", "FAILED", "CANCELLED") else None


def _codebuild_final(described: dict[str, Any]) -> dict[str, Any] | None:
    builds = described.get("Builds") or []
    if not builds:
        return {}
    return {"Build": builds[0]} if builds[0].get("BuildStatus") != "IN_PROGRESS" else None


_STOP_REASON = "The Task that started it was cancelled (AWS Step Functions, opensfn)."

JOBS: dict[str, Job] = {
    "ecs:runTask": Job(
        _ecs_describe,
        _ecs_final,
        _ecs_succeeded,
        lambda s: ("ecs", "stopTask", {**_ecs_describe(s)[2], "Reason": _STOP_REASON}),
    ),
    "glue:startJobRun": Job(
        lambda s: ("glue", "getJobRun", {"JobName": s.get("JobName"), "RunId": s.get("JobRunId")}),
        _glue_final,
        lambda run: run.get("JobRunState") == "SUCCEEDED",
        lambda s: (
            "glue",
            "batchStopJobRun",
            {"JobName": s.get("JobName"), "JobRunIds": [s.get("JobRunId")]},
        ),
    ),
    "batch:submitJob": Job(
        lambda s: ("batch", "describeJobs", {"Jobs": [s.get("JobId")]}),
        _batch_final,
        lambda job: job.get("Status") == "SUCCEEDED",
        lambda s: ("batch", "terminateJob", {"JobId": s.get("JobId"), "Reason": _STOP_REASON}),
    ),
    "athena:startQueryExecution": Job(
        lambda s: ("athena", "getQueryExecution", {"QueryExecutionId": s.get("QueryExecutionId")}),
        _athena_final,
        lambda out: out["QueryExecution"]["Status"]["State"] == "SUCCEEDED",
        lambda s: ("athena", "stopQueryExecution", {"QueryExecutionId": s.get("QueryExecutionId")}),
    ),
    "codebuild:startBuild": Job(
        lambda s: ("codebuild", "batchGetBuilds", {"Ids": [(s.get("Build") or {}).get("Id")]}),
        _codebuild_final,
        lambda out: (out.get("Build") or {}).get("BuildStatus") == "SUCCEEDED",
        lambda s: ("codebuild", "stopBuild", {"Id": (s.get("Build") or {}).get("Id")}),
    ),
}


def _without_metadata(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if k not in ("SdkHttpMetadata", "SdkResponseMetadata")}


async def follow(
    host: h.DispatchHost,
    job: Job,
    region: str,
    started: dict[str, Any],
    call: Callable[[str, str, str, Any], h.Outcome],
) -> h.Outcome:
    """Describe the job ``started`` names until it ends; the Task's outcome."""
    service, operation, params = job.describe(started)
    interval = FIRST_INTERVAL
    try:
        while True:
            await asyncio.sleep(interval)
            interval = min(interval * 1.5, MAX_INTERVAL)
            outcome = await h.in_thread(host, call, region, service, operation, params)
            if outcome.output is None:
                return outcome  # the describe call failed: the Task fails with its error
            final = job.final(_without_metadata(orjson.loads(outcome.output)))
            if final is None:
                continue
            text = orjson.dumps(final).decode()
            if job.succeeded(final):
                return h.Outcome(output=text)
            return h.Outcome(error="States.TaskFailed", cause=text)
    except asyncio.CancelledError:
        _stop(host, job, region, started, call)
        raise


def _stop(
    host: h.DispatchHost,
    job: Job,
    region: str,
    started: dict[str, Any],
    call: Callable[[str, str, str, Any], h.Outcome],
) -> None:
    """The Task no longer waits for the job (its execution stopped, it timed out): stop the
    job, as AWS does — not when the server is only shutting down (it is followed again
    after the restart). Fire and forget: a failure is logged."""
    state = h.integrations_of(host)
    if state.closing:
        return
    service, operation, params = job.stop(started)

    def stop() -> None:
        outcome = call(region, service, operation, params)
        if outcome.output is None:
            LOG.warning("could not stop %s job: %s %s", service, outcome.error, outcome.cause)

    try:
        state.pool.submit(stop)
    except RuntimeError:  # the pool is shut down
        LOG.warning("could not stop %s job: the server is stopping", service)


def run_job(
    host: h.DispatchHost,
    execution_arn: str,
    cmd: ScheduleTask,
    key: str,
    region: str,
    start: Callable[[], h.Outcome],
    call: Callable[[str, str, str, Any], h.Outcome],
) -> None:
    """Start the job (``start`` makes the start call), report it submitted, follow it."""
    job = JOBS[key]

    async def work() -> h.Outcome:
        outcome = await h.in_thread(host, start)
        if outcome.output is None:
            return outcome
        host.deliver(execution_arn, TaskSubmitted(cmd.task_id, outcome.output))
        return await follow(host, job, region, orjson.loads(outcome.output), call)

    h.start(host, execution_arn, cmd, work)


def reattach(
    host: h.DispatchHost,
    execution_arn: str,
    tasks: dict[str, Any],
    call: Callable[[str, str, str, Any], h.Outcome],
) -> None:
    """After a restart: follow again every submitted job an open Task still waits for."""
    for task_id, t in tasks.items():
        action = str(t.get("action", ""))
        submitted = t.get("submitted")
        if not action.endswith(".sync") or not isinstance(submitted, str):
            continue
        job = JOBS.get(f"{t.get('service')}:{action[: -len('.sync')]}")
        if job is None:
            continue
        resource = str(t.get("resource", ""))
        region = resource.split(":")[3] if resource.count(":") >= 3 else ""
        started = orjson.loads(submitted)

        async def work(job: Job = job, started: Any = started, region: str = region) -> h.Outcome:
            return await follow(host, job, region, started, call)

        cmd = ScheduleTask(task_id, resource, t.get("params"))
        h.start(host, execution_arn, cmd, work, announce=False)


__all__ = ["JOBS", "Job", "follow", "reattach", "run_job"]
