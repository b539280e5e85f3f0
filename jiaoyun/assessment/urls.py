from django.urls import path

from jiaoyun.assessment import views

app_name = "assessment"
urlpatterns = [
    path("", views.exam_list, name="exam_list"),
    path("exams/new/", views.exam_create, name="exam_create"),
    path("exams/<id:pk>/", views.exam_detail, name="exam_detail"),
    path("exams/<id:pk>/settings/", views.exam_settings, name="exam_settings"),
    path("exams/<id:pk>/structure/", views.structure_upload, name="structure_upload"),
    path("exams/<id:pk>/structure.xlsx", views.structure_template, name="structure_template"),
    path("exams/<id:pk>/papers/<id:paper_pk>/scores/", views.scores_upload, name="scores_upload"),
    path("exams/<id:pk>/papers/<id:paper_pk>/scores.xlsx", views.scores_template, name="scores_template"),
    path("exams/<id:pk>/analyse/", views.analyse, name="analyse"),
    path("exams/<id:pk>/students/<id:student>/plans/", views.plan_save, name="plan_save"),
    path("exams/<id:pk>/reports/district/", views.report, {"kind": "district"}, name="report_district"),
    path(
        "exams/<id:pk>/reports/district/report.xlsx",
        views.report_download,
        {"kind": "district", "fmt": "xlsx"},
        name="report_district_xlsx",
    ),
    path(
        "exams/<id:pk>/reports/district/report.pdf",
        views.report_download,
        {"kind": "district", "fmt": "pdf"},
        name="report_district_pdf",
    ),
]
for _kind in ("school", "class", "teacher", "student"):
    urlpatterns += [
        path(f"exams/<id:pk>/reports/{_kind}/<id:unit>/", views.report, {"kind": _kind}, name=f"report_{_kind}"),
        path(f"exams/<id:pk>/reports/{_kind}/<id:unit>/report.xlsx", views.report_download,
             {"kind": _kind, "fmt": "xlsx"}, name=f"report_{_kind}_xlsx"),
        path(f"exams/<id:pk>/reports/{_kind}/<id:unit>/report.pdf", views.report_download,
             {"kind": _kind, "fmt": "pdf"}, name=f"report_{_kind}_pdf"),
    ]  # fmt: skip
