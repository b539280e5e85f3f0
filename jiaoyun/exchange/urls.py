from django.urls import path

from jiaoyun.exchange import views

app_name = "exchange"
urlpatterns = [
    path("imports/", views.import_list, name="import_list"),
    path("imports/new/", views.import_new, name="import_new"),
    path("imports/<id:pk>/", views.import_detail, name="import_detail"),
    path("imports/<id:pk>/problems.xlsx", views.import_issues, name="import_issues"),
    path("templates/<str:kind>.xlsx", views.import_template, name="import_template"),
]
