from django.urls import path

from jiaoyun.admissions import views

app_name = "admissions"
urlpatterns = [
    path("", views.round_list, name="round_list"),
    path("rounds/new/", views.round_create, name="round_create"),
    path("rounds/<id:pk>/", views.round_detail, name="round_detail"),
    path("rounds/<id:pk>/commit/", views.round_commit, name="round_commit"),
    path("rounds/<id:pk>/freeze/", views.round_freeze, name="round_freeze"),
    path("rounds/<id:pk>/draw/", views.round_draw, name="round_draw"),
    path("rounds/<id:pk>/schools/", views.round_school_add, name="round_school_add"),
    path("rounds/<id:pk>/graduates/", views.round_register, name="round_register"),
    path("rounds/<id:pk>/categories/", views.round_categories, name="round_categories"),
    path("rounds/<id:pk>/windows/new/", views.window_create, name="window_create"),
    path("rounds/<id:pk>/results/", views.round_results, name="round_results"),
    path("rounds/<id:pk>/results.xlsx", views.round_results_xlsx, name="round_results_xlsx"),
    path("rounds/<id:pk>/export.csv", views.round_export, name="round_export"),
    path("rounds/<id:pk>/notary/", views.round_notary, name="round_notary"),
    path("rounds/<id:pk>/files/<str:name>", views.round_file, name="round_file"),
    path("windows/", views.window_list, name="window_list"),
    path("reviews/", views.review_queue, name="review_queue"),
    path("reviews/<id:pk>/", views.review_detail, name="review_detail"),
    path("documents/<id:pk>/", views.document_download, name="document"),
    path("my-applications/", views.my_applications, name="my_applications"),
    path("windows/<id:pk>/apply/", views.apply, name="apply"),
    path("my-applications/<id:pk>/documents/", views.application_more, name="application_more"),
    path("entries/<id:pk>/preferences/", views.entry_preferences, name="entry_preferences"),
]
