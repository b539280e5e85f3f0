from django.urls import path

from jiaoyun.core import views

app_name = "core"
urlpatterns = [
    path("schools/", views.school_list, name="school_list"),
    path("schools/<id:pk>/", views.school_detail, name="school_detail"),
    path("classes/", views.class_list, name="class_list"),
    path("classes/<id:pk>/", views.class_detail, name="class_detail"),
    path("teachers/", views.teacher_list, name="teacher_list"),
    path("teachers/<id:pk>/", views.teacher_detail, name="teacher_detail"),
    path("students/", views.student_list, name="student_list"),
    path("students/<id:pk>/", views.student_detail, name="student_detail"),
]
