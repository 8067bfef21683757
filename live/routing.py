from channels.auth import AuthMiddlewareStack
from channels.sessions import CookieMiddleware
from django.urls import path

from live.consumers import ControlConsumer, DeputyConsumer, PublicConsumer

# The public crowd needs only its cookies (the signed viewer id): no session wrapper, which
# would otherwise inspect the session on every frame sent to every viewer.
websocket_urlpatterns = [
    path("ws/hearings/<int:hearing_id>/public/", CookieMiddleware(PublicConsumer.as_asgi())),
    path("ws/hearings/<int:hearing_id>/deputy/", AuthMiddlewareStack(DeputyConsumer.as_asgi())),
    path("ws/hearings/<int:hearing_id>/control/", AuthMiddlewareStack(ControlConsumer.as_asgi())),
]
