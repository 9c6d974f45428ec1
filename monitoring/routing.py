from django.urls import path

from . import consumers

websocket_urlpatterns = [
    path("ws/instances/", consumers.InstancesConsumer.as_asgi()),
]
