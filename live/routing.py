from django.urls import path

from live.consumers import ControlConsumer, DeputyConsumer, PublicConsumer

websocket_urlpatterns = [
    path("ws/hearings/<int:hearing_id>/public/", PublicConsumer.as_asgi()),
    path("ws/hearings/<int:hearing_id>/deputy/", DeputyConsumer.as_asgi()),
    path("ws/hearings/<int:hearing_id>/control/", ControlConsumer.as_asgi()),
]
