from django.conf import settings
from django.urls import include, path

from jiaoyun.accounts import views as account_views
from jiaoyun.api import api

urlpatterns = [
    path("", account_views.home, name="home"),
    path("accounts/", include("jiaoyun.accounts.urls")),
    path("register/", include("jiaoyun.core.urls")),
    path("exchange/", include("jiaoyun.exchange.urls")),
    path("assessment/", include("jiaoyun.assessment.urls")),
    path("admissions/", include("jiaoyun.admissions.urls")),
    path("dashboard/", include("jiaoyun.dashboard.urls")),
    path("electives/", include("jiaoyun.electives.urls")),
    path("classroom/", include("jiaoyun.classroom.urls")),
    path("api/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
