"""ASGI entry point: HTTP through Django, WebSockets through the live consumers."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from core.origin import SameOriginValidator  # noqa: E402
from realtime.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Origin: scheme, host and port must be this site's (or a CSRF_TRUSTED_ORIGINS entry).
        "websocket": SameOriginValidator(URLRouter(websocket_urlpatterns)),
    }
)
