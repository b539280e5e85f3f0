from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from jiaoyun.accounts.scopes import Scope
from jiaoyun.assessment.models import Exam, FollowUpPlan
from jiaoyun.core.models import GRADE_NAMES, School, Subject

MAX_UPLOAD_BYTES = 60 * 1024 * 1024


ANALYSIS_FIELDS = [
    "excellent_cut", "good_cut", "pass_cut", "low_cut", "band_width",
    "borderline_line", "borderline_window", "borderline_rank_from", "borderline_rank_to",
]  # fmt: skip


class ExamSettingsForm(forms.ModelForm):
    """The exam's cut lines, score bands and borderline rule."""

    class Meta:
        model = Exam
        fields = ANALYSIS_FIELDS

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        cuts = [data.get(k) for k in ("low_cut", "pass_cut", "good_cut", "excellent_cut")]
        if None not in cuts and not (0 < cuts[0] < cuts[1] < cuts[2] < cuts[3] <= 1):  # type: ignore[operator]
            raise forms.ValidationError(_("Cut lines must rise from low to excellent, between 0 and 1."))
        line, window = data.get("borderline_line"), data.get("borderline_window")
        if line is not None and not 0 < line < 1:
            self.add_error(
                "borderline_line", _("Write a fraction of full marks between 0 and 1, such as 0.6.")
            )
        if window is not None and not 0 <= window < 0.5:
            self.add_error("borderline_window", _("Write a fraction of full marks below 0.5, such as 0.03."))
        if data.get("band_width") is not None and not 1 <= data["band_width"] <= 50:
            self.add_error("band_width", _("A band is 1 to 50 marks wide."))
        first, last = data.get("borderline_rank_from"), data.get("borderline_rank_to")
        if (first is None) != (last is None) or (first is not None and last is not None and first > last):
            self.add_error(
                "borderline_rank_to", _("Give both ranks, the first not above the last, or neither.")
            )
        return data


class ExamForm(forms.ModelForm):
    class Meta:
        model = Exam
        fields = ["name", "term", "grade_level", "held_on", "school", "prior"]
        widgets = {"held_on": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args: Any, viewer: Scope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.viewer = viewer
        self.fields["grade_level"] = forms.TypedChoiceField(
            label=_("grade"), coerce=int, choices=[(k, str(v)) for k, v in GRADE_NAMES.items() if k >= 1]
        )
        schools = School.objects.visible_to(viewer)
        if not viewer.district:
            schools = schools.filter(pk__in=viewer.admin_school_ids)
        school = cast(forms.ModelChoiceField, self.fields["school"])
        school.queryset = schools
        school.required = not viewer.district
        school.help_text = _("Leave empty for a joint exam of the district")
        prior = cast(forms.ModelChoiceField, self.fields["prior"])
        prior.queryset = Exam.objects.visible_to(viewer)
        prior.required = False


class UploadForm(forms.Form):
    file = forms.FileField(label=_("Spreadsheet (xlsx or csv)"))

    def clean_file(self) -> Any:
        f = self.cleaned_data["file"]
        if f.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 60 MB; split it by school."))
        return f


class FollowUpPlanForm(forms.Form):
    plan = forms.CharField(label=_("plan"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
    target = forms.DecimalField(
        label=_("target total"), required=False, max_digits=6, decimal_places=1, min_value=0,
        help_text=_("Empty: the exam's borderline line"),
    )  # fmt: skip
    subject = forms.ModelChoiceField(label=_("subject"), queryset=Subject.objects.none(), required=False)
    status = forms.ChoiceField(
        label=_("status"), choices=FollowUpPlan.Status.choices, initial=FollowUpPlan.Status.OPEN
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["subject"].queryset = Subject.objects.filter(paper__isnull=False).distinct()  # type: ignore[attr-defined]
