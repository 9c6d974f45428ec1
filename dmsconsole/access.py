"""Server-side role checks for views. Pages hide what a role cannot do; these refuse it anyway.

A forged request from a role that may not act gets 403, whatever the page showed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from .roles import Role, role_of

View = Callable[..., HttpResponse]


def role_required(minimum: Role) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if role_of(request.user) < minimum:
                raise PermissionDenied(f"This needs the {minimum.name.title()} role.")
            return view(request, *args, **kwargs)

        wrapper.dms_minimum_role = minimum  # type: ignore[attr-defined]
        return wrapper

    return decorator


viewer_required = role_required(Role.VIEWER)
operator_required = role_required(Role.OPERATOR)
administrator_required = role_required(Role.ADMINISTRATOR)
