from django.urls import path

from . import task_views, views

urlpatterns = [
    path("instances/", views.instance_list, name="instance-list"),
    path("instances/create/", views.instance_create, name="instance-create"),
    path("instances/<str:identifier>/", views.instance_detail, name="instance-detail"),
    path("instances/<str:identifier>/modify/", views.instance_edit, name="instance-edit"),
    path("instances/<str:identifier>/delete/", views.instance_delete, name="instance-delete"),
    # The task pages (issue 6) replace this placeholder.
    path("tasks/", views.task_list, name="task-list"),
    # Replication task pages and actions (issue 5; the console issue builds the full pages on them).
    path("tasks/<str:identifier>/", task_views.task_detail, name="task-detail"),
    path("tasks/<str:identifier>/logs/", task_views.task_log, name="task-log"),
    path("tasks/<str:identifier>/start/", task_views.task_start, name="task-start"),
    path("tasks/<str:identifier>/stop/", task_views.task_stop, name="task-stop"),
    path("tasks/<str:identifier>/reload-tables/", task_views.task_reload_tables, name="task-reload-tables"),
    path("tasks/<str:identifier>/delete/", task_views.task_delete, name="task-delete"),
]
