from django.urls import path

from jiaoyun.dashboard import views

app_name = "dashboard"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("school/<id:pk>/", views.school, name="school"),
    path("screen/", views.screen, name="screen"),
    path("screen/data.json", views.screen_data, name="screen_data"),
    path("warnings/", views.warnings, name="warnings"),
    path("hiring/", views.hiring, name="hiring"),
    path("rotation/", views.rotation, name="rotation"),
    path("views/", views.catalogue, name="catalogue"),
    path("data/<slug:name>.<str:fmt>", views.view_data, name="view_data"),
    path("snapshot/", views.take_snapshot, name="take_snapshot"),
    path("births/", views.import_births, name="import_births"),
]
