"""Signed-in users without a role see nothing but the sign-out link and an explanation."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .roles import Role, role_of

# Views a signed-in user without a role may still reach.
_OPEN_URL_NAMES = {"login", "logout", "healthz"}


class RoleRequiredMiddleware:
    """Runs after LoginRequiredMiddleware: a signed-in user must also hold a role (Viewer at least)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if not request.user.is_authenticated:
            return None  # LoginRequiredMiddleware or the view's login_not_required decides
        match = getattr(request, "resolver_match", None)
        if match is not None and match.url_name in _OPEN_URL_NAMES:
            return None
        if request.path.startswith("/static/"):
            return None
        if role_of(request.user) < Role.VIEWER:
            return render(request, "no_role.html", status=403)
        return None
