"""The create-task wizard's pages (and Modify, which reuses them), one step per URL.

Each step: GET shows it; a field that changes posts the form to `validate/` and gets
itself back checked (htmx, no reload); Next posts the step, which is left only without
errors (htmx: the step's body comes back with every error at its field; otherwise an
HX-Redirect to the next step). The task is created or modified in one call to
tasks.actions on the Review step, which checks everything again.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from dmsconsole.access import administrator_required

from . import actions, wizard
from .models import MigrationType, ReplicationTask
from .wizard import Draft
from .wizard_forms import ConfigurationForm, LiveForm, StartupForm
from .wizard_settings import SettingsForm, SettingsJsonForm, check_wizard, initial_from_document

# ---- helpers ----------------------------------------------------------------------------------------


def step_url(draft: Draft, step: str, action: str = "") -> str:
    url = reverse("task-wizard", args=[draft.id, step])
    return f"{url}{action}/" if action else url


def get_draft(request: HttpRequest, draft_id: str, step: str) -> Draft:
    draft = wizard.load(request, draft_id)
    if step not in draft.step_slugs():
        raise Http404(f"No step {step!r} in this wizard.")
    return draft


def _go(request: HttpRequest, url: str) -> HttpResponse:
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def leave_step(request: HttpRequest, draft: Draft, step: str) -> HttpResponse:
    draft.mark_done(step)
    wizard.save(request, draft)
    return _go(request, step_url(draft, draft.next_step(step)))


def stay_on_step(request: HttpRequest, draft: Draft, step: str) -> None:
    draft.mark_open(step)
    wizard.save(request, draft)


def _task(draft: Draft) -> ReplicationTask | None:
    if draft.task_pk is None:
        return None
    return ReplicationTask.objects.select_related("instance", "source", "target").filter(pk=draft.task_pk).first()


def step_context(draft: Draft, step: str, **extra: Any) -> dict[str, Any]:
    steps = [{"slug": slug, "title": title, "number": n, "url": step_url(draft, slug), "current": slug == step,
              "done": slug in draft.done, "reachable": draft.reachable(slug)}
             for n, (slug, title) in enumerate(draft.steps, start=1)]
    title = dict(draft.steps)[step]
    previous = draft.previous_step(step)
    return {"draft": draft, "step": step, "steps": steps, "step_title": title,
            "step_number": draft.step_slugs().index(step) + 1, "task": _task(draft),
            "form_url": step_url(draft, step), "validate_url": step_url(draft, step, "validate"),
            "switch_url": step_url(draft, step, "switch"),
            "back_url": step_url(draft, previous) if previous else None,
            "is_last": step == "review", **extra}


def render_step(request: HttpRequest, draft: Draft, step: str, context: dict[str, Any]) -> HttpResponse:
    template = f"tasks/wizard/{step}.html"
    if request.htmx and request.method == "POST":
        template += "#step-body"
    return render(request, template, step_context(draft, step, **context))


# ---- entry points ---------------------------------------------------------------------------------------


@require_GET
@administrator_required
def wizard_start(request: HttpRequest) -> HttpResponse:
    draft = wizard.new_draft()
    wizard.save(request, draft)
    return redirect(step_url(draft, "configuration"))


@require_GET
@administrator_required
def task_modify(request: HttpRequest, identifier: str) -> HttpResponse:
    task = get_object_or_404(ReplicationTask.objects.select_related("instance", "source", "target"),
                             identifier=identifier.lower())
    reason = actions.refusal("modify", task)
    if reason:
        messages.error(request, reason)
        return redirect("task-detail", identifier=task.identifier)
    draft = wizard.draft_for_modify(task)
    wizard.save(request, draft)
    return redirect(step_url(draft, "configuration"))


@require_http_methods(["GET", "POST"])
@administrator_required
def wizard_step(request: HttpRequest, draft_id: str, step: str) -> HttpResponse:
    draft = get_draft(request, draft_id, step)
    if not draft.reachable(step):
        return redirect(step_url(draft, draft.first_unfinished()))
    if step == "mappings":
        from .wizard_mapping_views import mappings_step

        return mappings_step(request, draft)
    return {"configuration": _configuration, "settings": _settings, "startup": _startup,
            "review": _review}[step](request, draft)


@require_POST
@administrator_required
def wizard_validate(request: HttpRequest, draft_id: str, step: str) -> HttpResponse:
    """One field (or the section it belongs to) checked with the whole form's values."""
    draft = get_draft(request, draft_id, step)
    form = _bound_form(request, draft, step)
    name = request.htmx.trigger_name or ""
    if name not in form.fields:
        return HttpResponse(status=204)
    form.is_valid()
    section = form.section_of(name)
    if section:
        form.errors_only_for([name])
        return render(request, f"tasks/wizard/{step}.html#section-{section}", {"form": form})
    form.errors_only_for([name])
    return HttpResponse(render_to_string("_field.html", {"field": form[name]}, request))


def _bound_form(request: HttpRequest, draft: Draft, step: str) -> LiveForm:
    url = step_url(draft, step, "validate")
    if step == "configuration":
        return _configuration_form(draft, request.POST, url)
    if step == "settings":
        cls = SettingsJsonForm if draft.settings_mode == "json" else SettingsForm
        return cls(request.POST, migration_type=draft.migration_type, validate_url=url)
    if step == "startup":
        return StartupForm(request.POST, validate_url=url)
    raise Http404("This step has no fields to check.")


# ---- Task configuration ---------------------------------------------------------------------------


def _configuration_form(draft: Draft, data: Any, url: str) -> ConfigurationForm:
    initial = {**draft.config}
    if not initial.get("migration_type"):
        initial["migration_type"] = "full-load"
    return ConfigurationForm(data, initial=initial, validate_url=url, task=_task(draft),
                             fixed=draft.task_has_run)


def _configuration(request: HttpRequest, draft: Draft) -> HttpResponse:
    url = step_url(draft, "configuration", "validate")
    if request.method == "POST":
        form = _configuration_form(draft, request.POST, url)
        if form.is_valid():
            if form.values()["source"] != draft.config.get("source") and draft.mode == "create":
                draft.mappings = ""  # new source: the default rule names its schema; the step needs a new look
                draft.mark_open("mappings")
            draft.config = form.values()
            return leave_step(request, draft, "configuration")
        stay_on_step(request, draft, "configuration")
    else:
        form = _configuration_form(draft, None, url)
    return render_step(request, draft, "configuration", {"form": form})


# ---- Task settings --------------------------------------------------------------------------------


def _settings_form(draft: Draft, data: Any = None, mode: str | None = None) -> LiveForm:
    mode = mode or draft.settings_mode
    url = step_url(draft, "settings", "validate")
    if mode == "json":
        initial = {"task_settings_json": draft.settings, "cdc_stop_mode": draft.cdc_stop.get("mode", ""),
                   "cdc_stop_time": draft.cdc_stop.get("time") or None}
        return SettingsJsonForm(data, initial=initial, migration_type=draft.migration_type, validate_url=url)
    initial = initial_from_document(draft.settings_document, draft.cdc_stop)
    return SettingsForm(data, initial=initial, migration_type=draft.migration_type, validate_url=url)


def _read_settings(draft: Draft, form: LiveForm) -> str | None:
    """The enriched document from a bound form of either mode, or None (errors are on the form)."""
    if not form.is_valid():
        return None
    if isinstance(form, SettingsJsonForm):
        return form.enriched
    assert isinstance(form, SettingsForm)
    return check_wizard(form, draft.settings_document)


def _settings(request: HttpRequest, draft: Draft) -> HttpResponse:
    if request.method == "POST":
        form = _settings_form(draft, request.POST)
        document = _read_settings(draft, form)
        if document is not None:
            draft.settings = document
            draft.cdc_stop = form.cdc_stop()  # type: ignore[attr-defined]
            return leave_step(request, draft, "settings")
        stay_on_step(request, draft, "settings")
    else:
        form = _settings_form(draft)
    return render_step(request, draft, "settings", {"form": form})


@require_POST
@administrator_required
def settings_switch(request: HttpRequest, draft_id: str) -> HttpResponse:
    """Wizard <-> JSON editor, carrying the values across. A mode with errors is not left: its errors show."""
    draft = get_draft(request, draft_id, "settings")
    wanted = request.POST.get("editing_mode", "wizard")
    form = _settings_form(draft, request.POST)
    if wanted != draft.settings_mode:
        document = _read_settings(draft, form)
        if document is not None:
            draft.settings = document
            draft.cdc_stop = form.cdc_stop()  # type: ignore[attr-defined]
            draft.settings_mode = "json" if wanted == "json" else "wizard"
            wizard.save(request, draft)
            form = _settings_form(draft)
    return render(request, "tasks/wizard/settings.html#editor", step_context(draft, "settings", form=form))


# ---- Migration task startup configuration -------------------------------------------------------


def _startup(request: HttpRequest, draft: Draft) -> HttpResponse:
    url = step_url(draft, "startup", "validate")
    initial = {"start_migration_task": "automatic" if draft.start_on_create else "manual"}
    form = StartupForm(request.POST if request.method == "POST" else None, initial=initial, validate_url=url)
    if request.method == "POST" and form.is_valid():
        draft.start_on_create = form.cleaned_data["start_migration_task"] == "automatic"
        return leave_step(request, draft, "startup")
    return render_step(request, draft, "startup", {"form": form})


# ---- Review -----------------------------------------------------------------------------------------


def _review(request: HttpRequest, draft: Draft) -> HttpResponse:
    problems: list[dict[str, str]] = []
    if request.method == "POST":
        try:
            if draft.mode == "modify":
                task = wizard.modify(draft, request)
                messages.success(request, f"Task {task.identifier} modified.")
            else:
                task, refused = wizard.create(draft, request)
                if refused:
                    messages.error(request, f"Task {task.identifier} created, but not started: {refused}")
                elif draft.start_on_create:
                    messages.success(request, f"Task {task.identifier} created and starting.")
                else:
                    messages.success(request, f"Task {task.identifier} created. Start it when you are ready.")
        except ValidationError as exc:
            problems = _late_problems(draft, exc)
            wizard.save(request, draft)
        except actions.ActionRefused as exc:
            problems = [{"message": str(exc), "step": "", "url": ""}]
        else:
            wizard.discard(request, draft)
            return _go(request, reverse("task-detail", args=[task.identifier]))
    document = json.dumps(wizard.review_document(draft), indent=2, ensure_ascii=False)
    return render_step(request, draft, "review", {"document": document, "problems": problems,
                                                   "migration_label": MigrationType(draft.migration_type).label,
                                                   "mappings_text": draft.mappings,
                                                   "settings_text": json.dumps(draft.settings_document, indent=2)})


def _late_problems(draft: Draft, exc: ValidationError) -> list[dict[str, str]]:
    """Problems found at the end (something changed meanwhile), each with the step that fixes it."""
    found = []
    by_field = exc.message_dict if hasattr(exc, "message_dict") else {"__all__": exc.messages}
    for name, texts in by_field.items():
        step = wizard.FIELD_STEPS.get(name, "")
        if step:
            draft.mark_open(step)
        for text in texts:
            found.append({"message": text, "step": dict(draft.steps).get(step, ""),
                          "url": step_url(draft, step) if step else ""})
    return found
