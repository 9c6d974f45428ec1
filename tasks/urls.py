from django.urls import path

from . import views

urlpatterns = [
    path("instances/", views.instance_list, name="instance-list"),
    path("instances/create/", views.instance_create, name="instance-create"),
    path("instances/<str:identifier>/", views.instance_detail, name="instance-detail"),
    path("instances/<str:identifier>/modify/", views.instance_edit, name="instance-edit"),
    path("instances/<str:identifier>/delete/", views.instance_delete, name="instance-delete"),
    # The task pages (issue 6) replace this placeholder.
    path("tasks/", views.task_list, name="task-list"),
]
