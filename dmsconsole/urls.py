from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("login/", login_not_required(auth_views.LoginView.as_view(template_name="login.html",
                                                                   redirect_authenticated_user=True)),
         name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", views.healthz, name="healthz"),
    path("audit/", views.audit_log, name="audit-log"),
    path("endpoints/", include("endpoints.urls")),
    path("", include("tasks.urls")),
    path("", include("monitoring.urls")),
]
