from django.urls import path

from jiaoyun.assessment import views

app_name = "assessment"
urlpatterns = [
    path("", views.exam_list, name="exam_list"),
    path("exams/new/", views.exam_create, name="exam_create"),
    path("exams/<int:pk>/", views.exam_detail, name="exam_detail"),
    path("exams/<int:pk>/structure/", views.structure_upload, name="structure_upload"),
    path("exams/<int:pk>/structure.xlsx", views.structure_template, name="structure_template"),
    path("exams/<int:pk>/papers/<int:paper_pk>/scores/", views.scores_upload, name="scores_upload"),
    path("exams/<int:pk>/papers/<int:paper_pk>/scores.xlsx", views.scores_template, name="scores_template"),
]
