from django.urls import path

from jiaoyun.classroom import views

app_name = "classroom"
urlpatterns = [
    path("", views.index, name="index"),
    path("start/", views.start, name="start"),
    path("join/", views.join, name="join"),
    path("sets/", views.question_sets, name="question_sets"),
    path("sets/<id:pk>/", views.question_set, name="question_set"),
    path("<id:pk>/screen/", views.screen, name="screen"),
    path("<id:pk>/student/", views.student_page, name="student"),
    path("<id:pk>/survey/", views.survey, name="survey"),
    path("<id:pk>/report/", views.report, name="report"),
    path("<id:pk>/end/", views.end, name="end"),
]
