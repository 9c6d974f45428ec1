from django.urls import path

from . import views

urlpatterns = [
    path("metrics", views.metrics, name="metrics"),
    path("tasks/<str:identifier>/monitoring/", views.task_monitoring, name="task-monitoring"),
]
