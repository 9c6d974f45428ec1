"""Writing the audit log. Every view or command that changes something calls `record`.

Never pass a secret in `detail`: the audit page shows it to every Administrator.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from .models import AuditEntry

log = logging.getLogger("dms.audit")


def client_ip(request: HttpRequest | None) -> str | None:
    """The address the request came from. Behind a proxy (DMS_BEHIND_PROXY) the last
    X-Forwarded-For entry, the one our own proxy added, since earlier ones are the client's word."""
    if request is None:
        return None
    candidate = request.META.get("REMOTE_ADDR", "")
    if getattr(settings, "DMS_BEHIND_PROXY", False):
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
        if forwarded:
            candidate = forwarded[-1]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def record(request: HttpRequest | None, action: str, target: str = "", detail: str = "", *,
           user: Any = None) -> AuditEntry:
    """Add one audit row. `user` defaults to the request's user; both may be None (command line)."""
    if user is None and request is not None:
        user = getattr(request, "user", None)
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    entry = AuditEntry.objects.create(
        user=user,
        username=user.get_username() if user is not None else "",
        action=action,
        target=target[:300],
        detail=detail,
        ip=client_ip(request),
    )
    log.info("audit action=%s target=%s user=%s ip=%s", action, target, entry.username or "-", entry.ip or "-")
    return entry


@receiver(user_logged_in)
def _signed_in(sender, request, user, **kwargs):
    record(request, "user.sign-in", f"user {user.get_username()}", user=user)


@receiver(user_logged_out)
def _signed_out(sender, request, user, **kwargs):
    if user is not None:
        record(request, "user.sign-out", f"user {user.get_username()}", user=user)


@receiver(user_login_failed)
def _sign_in_failed(sender, credentials, request=None, **kwargs):
    name = str(credentials.get("username", ""))[:150]
    record(request, "user.sign-in-failed", f"user {name}", user=None)
