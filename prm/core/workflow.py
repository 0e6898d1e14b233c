"""The one approval engine (R0 workflow). Skeleton: the registry and the definition sync.

Owning apps declare definitions in code with :func:`workflow_register`; after migrations
they are synchronised into ``WorkflowDefinition``/``WorkflowStep`` rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from prm.core.models import WorkflowDefinition, WorkflowStep


@dataclass(frozen=True)
class StepSpec:
    name: str
    approver_role: str
    org_scope: str = WorkflowStep.OrgScope.SUBMITTER_ORG
    org_level: str = ""
    mode: str = WorkflowStep.Mode.ANY
    deadline_hours: int = 48
    remind_before_hours: int = 8


@dataclass(frozen=True)
class DefinitionSpec:
    """A workflow declared by its owning app, with the callbacks into that app's services.

    Callbacks are ``fn(*, instance, actor)``, run inside the engine's transaction.
    """

    code: str
    name: str
    steps: tuple[StepSpec, ...]
    on_submitted: Callable | None = None
    on_approved: Callable | None = None
    on_rejected: Callable | None = None
    on_withdrawn: Callable | None = None
    document_url: Callable | None = field(default=None)


_registry: dict[str, DefinitionSpec] = {}


def workflow_register(spec: DefinitionSpec) -> DefinitionSpec:
    _registry[spec.code] = spec
    return spec


def workflow_spec(code: str) -> DefinitionSpec | None:
    return _registry.get(code)


def workflow_definitions_sync() -> None:
    """Create or update the definitions and steps declared in code."""
    for spec in _registry.values():
        definition, _ = WorkflowDefinition.objects.update_or_create(
            code=spec.code, defaults={"name": str(spec.name)}
        )
        for order, step in enumerate(spec.steps, start=1):
            WorkflowStep.objects.update_or_create(
                definition=definition,
                order=order,
                defaults={
                    "name": str(step.name),
                    "approver_role": step.approver_role,
                    "org_scope": step.org_scope,
                    "org_level": step.org_level,
                    "mode": step.mode,
                    "deadline_hours": step.deadline_hours,
                    "remind_before_hours": step.remind_before_hours,
                },
            )


def definitions_sync_after_migrate(sender, **kwargs) -> None:
    if getattr(sender, "label", None) == "core":
        workflow_definitions_sync()
