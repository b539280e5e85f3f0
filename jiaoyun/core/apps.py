from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "jiaoyun.core"
    verbose_name = _("Register")

    def ready(self) -> None:
        from django.urls import register_converter

        from jiaoyun.core.ids import RowIdConverter

        register_converter(RowIdConverter, "id")
