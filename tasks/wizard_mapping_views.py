"""The Table mappings step: guided editor and JSON editor over one document, with the live preview.

Every change is posted to `sync/`, saved in the draft and checked by the engine; the
answer puts each problem at its field (out-of-band, so what the user is typing is never
replaced) and refreshes the preview. Choices that change which fields a rule has (its
target, its action, a filter's operator) and the editor's buttons re-render the editor.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from dmsconsole.access import administrator_required
from endpoints.engines import get_engine
from tasks.engine.mapping_document import parse_table_mappings
from tasks.engine.problems import Problem

from . import source_catalog, wizard
from .wizard import Draft
from .wizard_mappings import (
    DocumentError,
    apply_op,
    default_rules,
    document_text,
    editor_rules,
    rules_from_post,
    rules_of,
)
from .wizard_preview import Preview, build_preview
from .wizard_views import get_draft, leave_step, render_step, stay_on_step, step_context, step_url

EDITOR_ID = "mapping-editor"


def _default_schema(draft: Draft) -> str:
    source = draft.source()
    if source is None:
        return "%"
    try:
        return get_engine(source.engine)(source.connection_info()).default_schema() or "%"
    except Exception:  # an engine this console cannot load: let the user name the schema
        return "%"


def _ensure_document(request: HttpRequest, draft: Draft) -> None:
    if not draft.mappings:
        draft.mappings = document_text(default_rules(_default_schema(draft)))
        wizard.save(request, draft)


def _posted_text(request: HttpRequest, draft: Draft) -> str:
    """The document the posted editor holds, after the button's operation if one was pressed."""
    if draft.mappings_mode == "json":
        return request.POST.get("mappings_json", "")
    rules = rules_from_post(request.POST)
    op = request.POST.get("op", "")
    if op:
        rules = apply_op(rules, op, _default_schema(draft))
    return document_text(rules)


def _preview(draft: Draft) -> Preview:
    return build_preview(draft.source(), draft.target(), draft.mappings, draft.settings)


def _problems(draft: Draft, preview: Preview | None) -> list[Problem]:
    if preview is not None and preview.ready:
        return preview.errors
    return list(parse_table_mappings(draft.mappings or "").errors)


def editor_context(draft: Draft, preview: Preview | None, *, switch_error: str = "") -> dict[str, Any]:
    """What the editor partial shows in the draft's mode, with every problem at its place."""
    problems = _problems(draft, preview)
    context: dict[str, Any] = {"preview": preview, "switch_error": switch_error,
                               "sync_url": step_url(draft, "mappings", "sync"),
                               "preview_url": step_url(draft, "mappings", "preview"),
                               "refresh_url": step_url(draft, "mappings", "refresh"),
                               "mappings_text": draft.mappings}
    if draft.mappings_mode == "guided":
        try:
            rules = rules_of(draft.mappings)
        except DocumentError as exc:  # only the JSON editor can show this document
            draft.mappings_mode = "json"
            context["switch_error"] = str(exc)
        else:
            context["rules"], context["general_problems"] = editor_rules(rules, problems)
            return context
    context["json_problems"] = [str(p) for p in problems]
    return context


def mappings_step(request: HttpRequest, draft: Draft) -> HttpResponse:
    _ensure_document(request, draft)
    preview = None
    if request.method == "POST":
        draft.mappings = _posted_text(request, draft)
        preview = _preview(draft)
        if not preview.errors:
            return leave_step(request, draft, "mappings")
        stay_on_step(request, draft, "mappings")
    return render_step(request, draft, "mappings", editor_context(draft, preview))


@require_POST
@administrator_required
def mapping_sync(request: HttpRequest, draft_id: str) -> HttpResponse:
    draft = get_draft(request, draft_id, "mappings")
    draft.mappings = _posted_text(request, draft)
    preview = _preview(draft)
    if preview.errors:  # the step must be left again (with Next) before Review opens
        draft.mark_open("mappings")
    wizard.save(request, draft)
    context = step_context(draft, "mappings", **editor_context(draft, preview))
    if request.htmx.target == EDITOR_ID:  # the editor's shape changed: show it again
        return render(request, "tasks/wizard/mappings.html#editor-and-preview", context)
    return render(request, "tasks/wizard/mappings.html#sync-oob", context)


@require_POST
@administrator_required
def mapping_switch(request: HttpRequest, draft_id: str) -> HttpResponse:
    """Guided editor <-> JSON editor. The JSON editor is left only for a document the guided editor can
    show (JSON with a rules array); rule problems travel along and show at their fields."""
    draft = get_draft(request, draft_id, "mappings")
    wanted = "json" if request.POST.get("editing_mode") == "json" else "guided"
    draft.mappings = _posted_text(request, draft)
    switch_error = ""
    if wanted == "guided" and draft.mappings_mode == "json":
        try:
            rules = rules_of(draft.mappings)
        except DocumentError as exc:
            switch_error = str(exc)
        else:
            draft.mappings = document_text(rules)
            draft.mappings_mode = "guided"
    elif wanted == "json":
        draft.mappings_mode = "json"
    preview = _preview(draft)
    if preview.errors:
        draft.mark_open("mappings")
    wizard.save(request, draft)
    context = step_context(draft, "mappings", **editor_context(draft, preview, switch_error=switch_error))
    return render(request, "tasks/wizard/mappings.html#editor-and-preview", context)


@require_GET
@administrator_required
def mapping_preview(request: HttpRequest, draft_id: str) -> HttpResponse:
    draft = get_draft(request, draft_id, "mappings")
    _ensure_document(request, draft)
    context = step_context(draft, "mappings", **editor_context(draft, _preview(draft)))
    return render(request, "tasks/wizard/mappings.html#preview", context)


@require_POST
@administrator_required
def mapping_refresh(request: HttpRequest, draft_id: str) -> HttpResponse:
    """DMS's "Refresh schemas": read the source's catalog again."""
    draft = get_draft(request, draft_id, "mappings")
    source = draft.source()
    if source is not None:
        source_catalog.refresh(source)
    context = step_context(draft, "mappings", **editor_context(draft, _preview(draft)))
    return render(request, "tasks/wizard/mappings.html#preview", context)
