from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ElectivesConfig(AppConfig):
    name = "jiaoyun.electives"
    verbose_name = _("Course supermarket")

    def ready(self) -> None:
        from jiaoyun.accounts.context_processors import NAVIGATION, NavItem

        if not any(item.url_name == "electives:index" for item in NAVIGATION):
            # Students, parents, teachers and administrators all have a reason to come here.
            NAVIGATION.append(NavItem("electives:index", _("Electives"), lambda scope: not scope.is_empty))
