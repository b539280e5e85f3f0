from django.urls import path

from jiaoyun.core import views

app_name = "core"
urlpatterns = [
    path("schools/", views.school_list, name="school_list"),
    path("schools/<int:pk>/", views.school_detail, name="school_detail"),
    path("classes/", views.class_list, name="class_list"),
    path("classes/<int:pk>/", views.class_detail, name="class_detail"),
    path("teachers/", views.teacher_list, name="teacher_list"),
    path("teachers/<int:pk>/", views.teacher_detail, name="teacher_detail"),
    path("students/", views.student_list, name="student_list"),
    path("students/<int:pk>/", views.student_detail, name="student_detail"),
]
