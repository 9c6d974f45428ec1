from django.urls import path

from . import views

urlpatterns = [
    path("", views.endpoint_list, name="endpoint-list"),
    path("create/", views.endpoint_create, name="endpoint-create"),
    path("engine-hints/", views.engine_hints, name="endpoint-engine-hints"),
    path("<str:identifier>/", views.endpoint_detail, name="endpoint-detail"),
    path("<str:identifier>/modify/", views.endpoint_edit, name="endpoint-edit"),
    path("<str:identifier>/delete/", views.endpoint_delete, name="endpoint-delete"),
    path("<str:identifier>/test-connection/", views.endpoint_test, name="endpoint-test"),
    path("<str:identifier>/connections/", views.endpoint_connections, name="endpoint-connections"),
]
