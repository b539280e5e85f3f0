from django.urls import path

from jiaoyun.exchange import views

app_name = "exchange"
urlpatterns = [
    path("imports/", views.import_list, name="import_list"),
]
