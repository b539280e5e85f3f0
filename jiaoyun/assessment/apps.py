from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssessmentConfig(AppConfig):
    name = "jiaoyun.assessment"
    verbose_name = _("Academic quality")

    def ready(self) -> None:
        from jiaoyun.accounts.context_processors import NAVIGATION, NavItem

        NAVIGATION.append(NavItem("assessment:exam_list", _("Exams"), lambda scope: not scope.is_empty))
