from django.urls import path

from . import consumers

websocket_urlpatterns = [
    path("ws/instances/", consumers.InstancesConsumer.as_asgi()),
    path("ws/dashboard/", consumers.DashboardConsumer.as_asgi()),
    path("ws/tasks/", consumers.TasksListConsumer.as_asgi()),
    path("ws/tasks/<int:pk>/", consumers.TaskConsumer.as_asgi()),
]
