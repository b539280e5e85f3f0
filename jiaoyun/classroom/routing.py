from django.urls import path

from jiaoyun.classroom import consumers

# `<int:...>`, not the `<id:...>` of the HTTP routes: a socket path no route matches makes
# Channels raise, while the consumer refuses a number beyond a bigint with a closed
# handshake (`LiveConsumer`, through `core.ids.row_id`).
websocket_urlpatterns = [
    path("ws/classroom/<int:session_id>/screen/", consumers.ScreenConsumer.as_asgi()),
    path("ws/classroom/<int:session_id>/student/", consumers.StudentConsumer.as_asgi()),
]
