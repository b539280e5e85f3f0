from django.urls import path

from jiaoyun.classroom import views

app_name = "classroom"
urlpatterns = [
    path("", views.index, name="index"),
    path("start/", views.start, name="start"),
    path("join/", views.join, name="join"),
    path("sets/", views.question_sets, name="question_sets"),
    path("sets/<int:pk>/", views.question_set, name="question_set"),
    path("<int:pk>/screen/", views.screen, name="screen"),
    path("<int:pk>/student/", views.student_page, name="student"),
    path("<int:pk>/survey/", views.survey, name="survey"),
    path("<int:pk>/report/", views.report, name="report"),
    path("<int:pk>/end/", views.end, name="end"),
]
