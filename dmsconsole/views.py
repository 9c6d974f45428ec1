from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard.html", {})


@login_not_required
def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})
