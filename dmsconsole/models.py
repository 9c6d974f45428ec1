"""The audit log: one row for every action that changes something."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    """Who did what, when, and from where. Rows are only ever added.

    `username` is kept apart from the user so the trail survives a deleted account;
    `ip` is None for actions taken on the command line.
    """

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64, db_index=True)  # e.g. "endpoint.create"
    target = models.CharField(max_length=300, blank=True)  # e.g. "endpoint pg-source"
    detail = models.TextField(blank=True)  # never holds a secret
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username or '-'} {self.action} {self.target}"
