from django.urls import path

from jiaoyun.electives import views

app_name = "electives"
urlpatterns = [
    path("", views.index, name="index"),
    path("school/<int:school_pk>/new/", views.catalogue_new, name="catalogue_new"),
    path("school/<int:school_pk>/report/", views.report, name="report"),
    path("catalogue/<int:pk>/", views.board, name="board"),
    path("catalogue/<int:pk>/manage/", views.manage, name="manage"),
    path("catalogue/<int:pk>/electives/new/", views.elective_edit, name="elective_new"),
    path("catalogue/<int:pk>/electives/<int:elective_pk>/edit/", views.elective_edit, name="elective_edit"),
    path("catalogue/<int:pk>/preferences/", views.preferences, name="preferences"),
    path("catalogue/<int:pk>/seats.json", views.api_seats, name="api_seats"),
    path("elective/<int:pk>/", views.elective_detail, name="elective"),
    path("elective/<int:pk>/roster/", views.roster, name="roster"),
    path("elective/<int:pk>/<str:action>/", views.act, name="act"),
    path("work/<int:pk>/like/", views.like, name="like"),
    path("photo/<str:kind>/<int:pk>/", views.photo, name="photo"),
    path("api/select/", views.api_select, name="api_select"),
    path("api/withdraw/", views.api_withdraw, name="api_withdraw"),
]
