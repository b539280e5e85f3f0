from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClassroomConfig(AppConfig):
    name = "jiaoyun.classroom"
    verbose_name = _("Live classroom")

    def ready(self) -> None:
        from jiaoyun.accounts.context_processors import NAVIGATION, NavItem
        from jiaoyun.accounts.models import Role

        # Teachers run sessions; students find their class's open sessions here too.
        NAVIGATION.append(
            NavItem(
                "classroom:index",
                _("Live classroom"),
                lambda scope: bool(scope.teacher_ids) or scope.has_role(Role.STUDENT),
            )
        )
