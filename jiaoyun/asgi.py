"""ASGI entry point: HTTP through Django, WebSockets through Channels (routes added by the
apps that have live channels)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiaoyun.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import re_path  # noqa: E402

from jiaoyun.classroom.routing import websocket_urlpatterns as classroom_websockets  # noqa: E402

# Routes whose consumers read `scope["user"]`, set by Channels' session authentication.
websocket_urlpatterns: list = []

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            URLRouter(
                [
                    # The live classroom authenticates each socket itself from the session
                    # cookie, in one call on its kept database connection (`classroom.hub`):
                    # thousands of devices join within seconds.
                    *classroom_websockets,
                    re_path(r"", AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
                ]
            )
        ),
    }
)
