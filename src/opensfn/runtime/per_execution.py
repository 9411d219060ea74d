"""Values keyed by (execution ARN, task id or state name), found by execution."""

from __future__ import annotations

from typing import Generic, TypeVar

V = TypeVar("V")


class PerExecution(Generic[V]):
    """Values keyed by (execution ARN, task id), indexed by execution: what an execution
    holds is found without looking through every other execution's (closing one costs
    what it holds, not what the whole server holds)."""

    __slots__ = ("_by",)

    def __init__(self) -> None:
        self._by: dict[str, dict[str, V]] = {}

    def put(self, execution_arn: str, task_id: str, value: V) -> None:
        self._by.setdefault(execution_arn, {})[task_id] = value

    def get(self, execution_arn: str, task_id: str) -> V | None:
        held = self._by.get(execution_arn)
        return None if held is None else held.get(task_id)

    def pop(self, execution_arn: str, task_id: str) -> V | None:
        held = self._by.get(execution_arn)
        if held is None:
            return None
        value = held.pop(task_id, None)
        if not held:
            del self._by[execution_arn]
        return value

    def drop(self, execution_arn: str) -> None:
        """Forget everything ``execution_arn`` holds."""
        self._by.pop(execution_arn, None)

    def task_ids(self, execution_arn: str) -> list[str]:
        """The task ids ``execution_arn`` holds values for (a copy: pop while iterating)."""
        return list(self._by.get(execution_arn, ()))

    def __len__(self) -> int:
        return sum(len(held) for held in self._by.values())


__all__ = ["PerExecution"]
