from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from jiaoyun.accounts.models import Role
from jiaoyun.accounts.scopes import Scope
from jiaoyun.core.models import School
from jiaoyun.exchange.models import ImportJob

ACCEPTED_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".csv", ".txt")
MAX_UPLOAD_BYTES = 40 * 1024 * 1024


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"), choices=ImportJob.Kind.choices)
    school = forms.ModelChoiceField(
        label=_("School"),
        queryset=School.objects.none(),
        required=False,
        help_text=_("Rows without a school belong to it, and rows of other schools are refused."),
    )
    file = forms.FileField(
        label=_("File"),
        help_text=_(
            "An Excel workbook (xlsx, xls) or a CSV file in UTF-8 or GBK, with the template's headers."
        ),
    )
    validate_only = forms.BooleanField(label=_("Only check the file, write nothing"), required=False)

    def __init__(self, *args: Any, scope: Scope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        school_field: forms.ModelChoiceField = self.fields["school"]  # type: ignore[assignment]
        if scope.has_role(Role.DISTRICT_ADMIN):
            school_field.queryset = School.objects.all()
            school_field.empty_label = _("Any school of the district (named in each row)")
        else:
            school_field.queryset = School.objects.filter(pk__in=scope.admin_school_ids)
            school_field.required = True
            if len(scope.admin_school_ids) == 1:
                school_field.initial = next(iter(scope.admin_school_ids))
                school_field.empty_label = None

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        name = (upload.name or "").lower()
        if not name.endswith(ACCEPTED_SUFFIXES):
            raise forms.ValidationError(_("Send an Excel workbook (.xlsx, .xls) or a CSV file (.csv)."))
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(size)s MB; split it into smaller files.")
                % {"size": MAX_UPLOAD_BYTES // (1024 * 1024)}
            )
        return upload
