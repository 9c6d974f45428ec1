from django.urls import path

from . import task_pages, task_views, views, wizard_mapping_views, wizard_views

urlpatterns = [
    path("instances/", views.instance_list, name="instance-list"),
    path("instances/create/", views.instance_create, name="instance-create"),
    path("instances/<str:identifier>/", views.instance_detail, name="instance-detail"),
    path("instances/<str:identifier>/modify/", views.instance_edit, name="instance-edit"),
    path("instances/<str:identifier>/delete/", views.instance_delete, name="instance-delete"),
    # The console's task pages (issue 6): list, create-task wizard (also Modify), task page with tabs.
    path("tasks/", task_pages.task_list, name="task-list"),
    path("tasks/create/", wizard_views.wizard_start, name="task-create"),
    path("tasks/create/<str:draft_id>/settings/switch/", wizard_views.settings_switch,
         name="task-wizard-settings-switch"),
    path("tasks/create/<str:draft_id>/mappings/sync/", wizard_mapping_views.mapping_sync, name="task-wizard-sync"),
    path("tasks/create/<str:draft_id>/mappings/switch/", wizard_mapping_views.mapping_switch,
         name="task-wizard-mappings-switch"),
    path("tasks/create/<str:draft_id>/mappings/preview/", wizard_mapping_views.mapping_preview,
         name="task-wizard-preview"),
    path("tasks/create/<str:draft_id>/mappings/refresh/", wizard_mapping_views.mapping_refresh,
         name="task-wizard-refresh"),
    path("tasks/create/<str:draft_id>/<slug:step>/validate/", wizard_views.wizard_validate,
         name="task-wizard-validate"),
    path("tasks/create/<str:draft_id>/<slug:step>/", wizard_views.wizard_step, name="task-wizard"),
    path("tasks/<str:identifier>/", task_pages.task_detail, name="task-detail"),
    path("tasks/<str:identifier>/modify/", wizard_views.task_modify, name="task-modify"),
    # Replication task actions (issue 5): the task page's buttons post here.
    path("tasks/<str:identifier>/logs/", task_views.task_log, name="task-log"),
    path("tasks/<str:identifier>/start/", task_views.task_start, name="task-start"),
    path("tasks/<str:identifier>/stop/", task_views.task_stop, name="task-stop"),
    path("tasks/<str:identifier>/reload-tables/", task_views.task_reload_tables, name="task-reload-tables"),
    path("tasks/<str:identifier>/delete/", task_views.task_delete, name="task-delete"),
]
