"""The create-task wizard's draft: what the user chose so far, kept in the session between steps.

A draft walks DMS's sections in order (Task configuration, Task settings, Table mappings,
Migration task startup configuration, Review). It holds plain JSON-able values only, so
it survives in the session; the task itself is created (or modified) in one call to
tasks.actions at the end, which checks everything again with the engine.
Modify reuses the wizard: a draft made from an existing task, without the startup step.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.http import Http404

from endpoints.models import Endpoint
from tasks.engine.settings import parse_task_settings

from . import actions
from .arns import endpoint_arn, instance_arn, task_arn
from .models import MigrationType, ReplicationInstance, ReplicationTask, StartType

SESSION_KEY = "task-wizard"
KEEP_DRAFTS = 5  # a user with more wizards open than this loses the oldest

STEPS = (
    ("configuration", "Task configuration"),
    ("settings", "Task settings"),
    ("mappings", "Table mappings"),
    ("startup", "Migration task startup configuration"),
    ("review", "Review and create"),
)
MODIFY_STEPS = tuple((slug, "Review and save" if slug == "review" else title) for slug, title in STEPS
                     if slug != "startup")


@dataclass
class Draft:
    id: str
    mode: str = "create"  # or "modify"
    task_pk: int | None = None  # modify: the task being changed
    task_has_run: bool = False  # modify: endpoints, migration type and CDC start point are fixed
    config: dict[str, Any] = field(default_factory=dict)  # the Task configuration step's values
    settings: str = ""  # the task-settings document, enriched with DMS's defaults
    settings_mode: str = "wizard"  # or "json"
    cdc_stop: dict[str, Any] = field(default_factory=dict)  # {"mode": "", "time": ""}
    mappings: str = ""  # the table-mapping document as the user last left it
    mappings_mode: str = "guided"  # or "json"
    start_on_create: bool = True
    done: list[str] = field(default_factory=list)  # steps left without errors

    # -- steps ------------------------------------------------------------------------------------
    @property
    def steps(self) -> tuple[tuple[str, str], ...]:
        return MODIFY_STEPS if self.mode == "modify" else STEPS

    def step_slugs(self) -> list[str]:
        return [slug for slug, _ in self.steps]

    def next_step(self, step: str) -> str:
        slugs = self.step_slugs()
        return slugs[min(slugs.index(step) + 1, len(slugs) - 1)]

    def previous_step(self, step: str) -> str | None:
        slugs = self.step_slugs()
        index = slugs.index(step)
        return slugs[index - 1] if index else None

    def reachable(self, step: str) -> bool:
        """A step may be opened once every step before it was left without errors."""
        slugs = self.step_slugs()
        return all(s in self.done for s in slugs[:slugs.index(step)])

    def first_unfinished(self) -> str:
        return next((s for s in self.step_slugs() if s not in self.done), "review")

    def mark_done(self, step: str) -> None:
        if step not in self.done:
            self.done.append(step)

    def mark_open(self, step: str) -> None:
        """A step with errors again (e.g. the JSON editor left broken): it and later steps need a visit."""
        if step in self.done:
            self.done.remove(step)

    # -- values ------------------------------------------------------------------------------------
    @property
    def migration_type(self) -> str:
        return self.config.get("migration_type") or MigrationType.FULL_LOAD

    @property
    def with_cdc(self) -> bool:
        return self.migration_type != MigrationType.FULL_LOAD

    @property
    def settings_document(self) -> dict[str, Any]:
        return parse_task_settings(self.settings or None).document

    def source(self) -> Endpoint | None:
        return Endpoint.objects.filter(identifier=self.config.get("source") or "").first()

    def target(self) -> Endpoint | None:
        return Endpoint.objects.filter(identifier=self.config.get("target") or "").first()

    def cdc_stop_position(self) -> str:
        mode, when = self.cdc_stop.get("mode") or "", self.cdc_stop.get("time") or ""
        if not mode or not when or not self.with_cdc:
            return ""
        return f"{mode}:{when[:19]}"

    def task_fields(self) -> dict[str, Any]:
        """The fields tasks.actions.create_task / modify_task take."""
        config = self.config
        with_cdc_start = self.migration_type == MigrationType.CDC
        start_time = config.get("cdc_start_time") or ""
        return {
            "identifier": config.get("identifier", ""),
            "instance": ReplicationInstance.objects.filter(identifier=config.get("instance") or "").first(),
            "source": self.source(),
            "target": self.target(),
            "migration_type": self.migration_type,
            "table_mappings": self.mappings,
            "task_settings": self.settings,
            "cdc_start_position": (config.get("cdc_start_position") or "")
            if with_cdc_start and config.get("cdc_start_mode") == "position" else "",
            "cdc_start_time": datetime.fromisoformat(start_time).replace(tzinfo=UTC)
            if with_cdc_start and config.get("cdc_start_mode") == "time" and start_time else None,
            "cdc_stop_position": self.cdc_stop_position(),
        }

    def to_session(self) -> dict[str, Any]:
        return asdict(self)


def new_draft() -> Draft:
    return Draft(id=secrets.token_urlsafe(8), settings=parse_task_settings(None).to_json_text())


def draft_for_modify(task: ReplicationTask) -> Draft:
    """A draft holding `task` as it is; every step starts as done (the task is valid)."""
    draft = Draft(id=secrets.token_urlsafe(8), mode="modify", task_pk=task.pk, task_has_run=task.has_run)
    draft.config = {
        "identifier": task.identifier, "instance": task.instance.identifier, "source": task.source.identifier,
        "target": task.target.identifier, "migration_type": task.migration_type,
        "cdc_start_mode": "position" if task.cdc_start_position else "time" if task.cdc_start_time else "",
        "cdc_start_position": task.cdc_start_position,
        "cdc_start_time": task.cdc_start_time.astimezone(UTC).replace(tzinfo=None).isoformat()
        if task.cdc_start_time else "",
    }
    draft.settings = task.task_settings or parse_task_settings(None).to_json_text()
    kind, _, when = task.cdc_stop_position.partition(":")
    draft.cdc_stop = {"mode": kind if when else "", "time": when}
    draft.mappings = _pretty(task.table_mappings)
    draft.done = draft.step_slugs()
    return draft


def _compact_json(text: str) -> str:
    try:
        return json.dumps(json.loads(text or "{}"), separators=(",", ":"), ensure_ascii=False)
    except ValueError:
        return text  # shown as it is; Create refuses it, naming the step that fixes it


def _pretty(text: str) -> str:
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


# ---- the session ---------------------------------------------------------------------------------

def save(request: Any, draft: Draft) -> None:
    drafts = dict(request.session.get(SESSION_KEY, {}))
    drafts.pop(draft.id, None)
    drafts[draft.id] = draft.to_session()
    while len(drafts) > KEEP_DRAFTS:
        drafts.pop(next(iter(drafts)))
    request.session[SESSION_KEY] = drafts


def load(request: Any, draft_id: str) -> Draft:
    data = request.session.get(SESSION_KEY, {}).get(draft_id)
    if data is None:
        raise Http404("This create-task wizard has expired: start again.")
    return Draft(**data)


def discard(request: Any, draft: Draft) -> None:
    drafts = dict(request.session.get(SESSION_KEY, {}))
    drafts.pop(draft.id, None)
    request.session[SESSION_KEY] = drafts


# ---- the end: DMS JSON, create, modify -------------------------------------------------------------

def review_document(draft: Draft) -> dict[str, Any]:
    """The task as DMS's CreateReplicationTask request (ModifyReplicationTask when modifying): what the AWS
    CLI takes with --cli-input-json. The two documents are JSON strings, as DMS takes them."""
    fields = draft.task_fields()
    doc: dict[str, Any] = {"ReplicationTaskIdentifier": fields["identifier"]}
    task = ReplicationTask.objects.filter(pk=draft.task_pk).first() if draft.mode == "modify" else None
    if task is not None:  # ModifyReplicationTask names the task by its ARN; its endpoints and instance stay
        doc = {"ReplicationTaskArn": task_arn(task), **doc}
    elif fields["source"] is not None:
        doc["SourceEndpointArn"] = endpoint_arn(fields["source"])
    if task is not None and fields["source"] is not None and fields["source"] != task.source:
        doc["SourceEndpointArn"] = endpoint_arn(fields["source"])  # a task that never ran may change them
    if fields["target"] is not None and (task is None or fields["target"] != task.target):
        doc["TargetEndpointArn"] = endpoint_arn(fields["target"])
    if task is None and fields["instance"] is not None:
        doc["ReplicationInstanceArn"] = instance_arn(fields["instance"])
    doc["MigrationType"] = fields["migration_type"]
    doc["TableMappings"] = _compact_json(fields["table_mappings"])
    doc["ReplicationTaskSettings"] = json.dumps(draft.settings_document, separators=(",", ":"))
    if fields["cdc_start_position"]:
        doc["CdcStartPosition"] = fields["cdc_start_position"]
    if fields["cdc_start_time"]:
        doc["CdcStartTime"] = fields["cdc_start_time"].isoformat()
    if fields["cdc_stop_position"]:
        doc["CdcStopPosition"] = fields["cdc_stop_position"]
    return doc


# The step each model field is chosen on, to send a late error back where it can be fixed.
FIELD_STEPS = {"identifier": "configuration", "instance": "configuration", "source": "configuration",
               "target": "configuration", "migration_type": "configuration", "cdc_start_position": "configuration",
               "cdc_start_time": "configuration", "task_settings": "settings", "cdc_stop_position": "settings",
               "table_mappings": "mappings"}


def create(draft: Draft, request: Any) -> tuple[ReplicationTask, str | None]:
    """Create the task (and start it when the startup step said so). Returns the task and, when the
    start was refused, why. Raises ValidationError with every problem by field."""
    task = actions.create_task(draft.task_fields(), request)
    refused = None
    if draft.start_on_create:
        try:
            task = actions.start_task(task, StartType.START, request)
        except actions.ActionRefused as exc:
            refused = str(exc)
    return task, refused


def modify(draft: Draft, request: Any) -> ReplicationTask:
    """Save the draft's values into its task: only what changed, so fixed fields of a task that has run
    are never sent. Raises ActionRefused or ValidationError."""
    task = ReplicationTask.objects.select_related("instance", "source", "target").get(pk=draft.task_pk)
    changes = {}
    for name, value in draft.task_fields().items():
        current = getattr(task, name)
        if name == "task_settings":
            if parse_task_settings(value or None).document == parse_task_settings(current or None).document:
                continue
        elif name == "table_mappings":
            if _same_json(value, current):
                continue
        elif value == current:
            continue
        changes[name] = value
    return actions.modify_task(task, changes, request)


def _same_json(a: str, b: str) -> bool:
    try:
        return json.loads(a) == json.loads(b)
    except ValueError:
        return a == b
