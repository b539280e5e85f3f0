from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardConfig(AppConfig):
    name = "jiaoyun.dashboard"
    verbose_name = _("Data warehouse")

    def ready(self) -> None:
        from jiaoyun.accounts.context_processors import NAVIGATION, NavItem
        from jiaoyun.dashboard import services  # noqa: F401  (registers the register's publishers)

        def district(scope):  # type: ignore[no-untyped-def]
            return scope.district

        def school_admin(scope):  # type: ignore[no-untyped-def]
            return not scope.district and bool(scope.admin_school_ids)

        NAVIGATION.extend([
            NavItem("dashboard:overview", _("Dashboard"), district),
            NavItem("dashboard:overview", _("School dashboard"), school_admin),
            NavItem("dashboard:warnings", _("Early warnings"), lambda s: s.district or bool(s.admin_school_ids)),
            NavItem("dashboard:hiring", _("Hiring plan"), district),
        ])  # fmt: skip
