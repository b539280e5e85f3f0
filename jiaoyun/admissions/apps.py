from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _kindergarten_admin(scope: object) -> bool:
    # Only administrators of a kindergarten review applications; asked once per page.
    from jiaoyun.core.models import School

    ids: frozenset[int] = getattr(scope, "admin_school_ids", frozenset())
    return bool(ids) and School.objects.filter(pk__in=ids, kind=School.Kind.KINDERGARTEN).exists()


class AdmissionsConfig(AppConfig):
    name = "jiaoyun.admissions"
    verbose_name = _("Admissions")

    def ready(self) -> None:
        from jiaoyun.accounts.context_processors import NAVIGATION, NavItem
        from jiaoyun.accounts.models import Role

        items = [
            NavItem(
                "admissions:round_list",
                _("Admission rounds"),
                lambda s: s.district or bool(s.admin_school_ids),
            ),
            NavItem("admissions:window_list", _("Registration windows"), lambda s: s.district),
            NavItem("admissions:review_queue", _("Application reviews"), _kindergarten_admin),
            NavItem("admissions:my_applications", _("Admissions"), lambda s: s.has_role(Role.PARENT)),
        ]
        present = {item.url_name for item in NAVIGATION}
        # ready() may run more than once (tests, reloads): never list an entry twice.
        NAVIGATION.extend(item for item in items if item.url_name not in present)
