from django.urls import path

from jiaoyun.admissions import views

app_name = "admissions"
urlpatterns = [
    path("", views.round_list, name="round_list"),
    path("rounds/<int:pk>/", views.round_detail, name="round_detail"),
    path("rounds/<int:pk>/export.csv", views.round_export, name="round_export"),
    path("my-applications/", views.my_applications, name="my_applications"),
]
