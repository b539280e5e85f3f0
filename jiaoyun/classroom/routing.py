from django.urls import path

from jiaoyun.classroom import consumers

websocket_urlpatterns = [
    path("ws/classroom/<id:session_id>/screen/", consumers.ScreenConsumer.as_asgi()),
    path("ws/classroom/<id:session_id>/student/", consumers.StudentConsumer.as_asgi()),
]
