from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ElectivesConfig(AppConfig):
    name = "jiaoyun.electives"
    verbose_name = _("Course supermarket")
