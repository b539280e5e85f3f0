from django.urls import path

from jiaoyun.electives import views

app_name = "electives"
urlpatterns = [
    path("", views.index, name="index"),
    path("school/<id:school_pk>/new/", views.catalogue_new, name="catalogue_new"),
    path("school/<id:school_pk>/report/", views.report, name="report"),
    path("catalogue/<id:pk>/", views.board, name="board"),
    path("catalogue/<id:pk>/manage/", views.manage, name="manage"),
    path("catalogue/<id:pk>/electives/new/", views.elective_edit, name="elective_new"),
    path("catalogue/<id:pk>/electives/<id:elective_pk>/edit/", views.elective_edit, name="elective_edit"),
    path("catalogue/<id:pk>/preferences/", views.preferences, name="preferences"),
    path("catalogue/<id:pk>/seats.json", views.api_seats, name="api_seats"),
    path("elective/<id:pk>/", views.elective_detail, name="elective"),
    path("elective/<id:pk>/roster/", views.roster, name="roster"),
    path("elective/<id:pk>/<str:action>/", views.act, name="act"),
    path("work/<id:pk>/like/", views.like, name="like"),
    path("photo/<str:kind>/<id:pk>/", views.photo, name="photo"),
    path("api/select/", views.api_select, name="api_select"),
    path("api/withdraw/", views.api_withdraw, name="api_withdraw"),
]
