"""ASGI entry point: HTTP through Django, WebSockets through Channels (routes added by the
apps that have live channels)."""

import gc
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiaoyun.settings")
django.setup(set_prefix=False)

from django.urls import get_resolver  # noqa: E402

from jiaoyun.serving import ThreadedASGIHandler  # noqa: E402

# Django's ASGI handler with its middleware chain run in one thread (see `jiaoyun.serving`).
django_asgi_app = ThreadedASGIHandler()
# Import every view now, while the server process starts, not on its first request: that
# import (the analytics pull in SciPy and Polars) takes seconds, and in a registration rush
# every request that reached a fresh worker waited for it.
get_resolver().url_patterns  # noqa: B018

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

# What the process imported and built until now lives as long as the process: moved out of the
# cyclic garbage collector's reach, it is not walked again by every full collection. Left in,
# the Django, SciPy and Polars modules are about 270,000 objects, and each full collection
# walked them all (about 0.2 s of CPU with the event loop and every request thread stopped;
# in the registration-rush benchmark these pauses were the slowest 1% of requests).
gc.collect()
gc.freeze()
