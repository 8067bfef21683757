from channels.auth import AuthMiddlewareStack
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.sessions import CookieMiddleware
from django.urls import re_path

from realtime.consumers import ControlConsumer, DeputyConsumer, PublicConsumer


class NotFoundConsumer(AsyncWebsocketConsumer):
    """Any other socket path: closed with 4404, as for an unknown hearing (the router alone
    would raise, logging a traceback and answering the handshake with a 500)."""

    async def connect(self) -> None:
        await self.accept()
        await self.close(code=4404)


# At most 18 digits: any id the database can hold, none that overflows its integer.
HEARING = r"^ws/hearings/(?P<hearing_id>[0-9]{1,18})"

# The public crowd needs only its cookies (the signed viewer id): no session wrapper, which
# would otherwise inspect the session on every frame sent to every viewer.
websocket_urlpatterns = [
    re_path(HEARING + r"/public/$", CookieMiddleware(PublicConsumer.as_asgi())),
    re_path(HEARING + r"/deputy/$", AuthMiddlewareStack(DeputyConsumer.as_asgi())),
    re_path(HEARING + r"/control/$", AuthMiddlewareStack(ControlConsumer.as_asgi())),
    re_path(r"", NotFoundConsumer.as_asgi()),
]
