from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from jiaoyun.core.models import GRADE_NAMES, School, Teacher, Term
from jiaoyun.electives.models import WEEKDAYS, Attendance, Catalogue, Elective, SelectionRound, TimeSlot


class CatalogueForm(forms.Form):
    term = forms.ModelChoiceField(label=_("term"), queryset=Term.objects.all())
    title = forms.CharField(label=_("title"), max_length=100)
    max_per_student = forms.IntegerField(
        label=_("electives per student"), min_value=1, max_value=10, initial=1
    )
    ratings_open_on = forms.DateField(
        label=_("ratings open on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class SlotForm(forms.Form):
    weekday = forms.TypedChoiceField(label=_("weekday"), choices=WEEKDAYS, coerce=int)
    start = forms.TimeField(label=_("start"), widget=forms.TimeInput(attrs={"type": "time"}))
    end = forms.TimeField(label=_("end"), widget=forms.TimeInput(attrs={"type": "time"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            raise forms.ValidationError(_("A slot must end after it starts."))
        return data


DUPLICATE_TITLE = _("An elective with this title is already in this catalogue.")


class ElectiveForm(forms.Form):
    title = forms.CharField(label=_("title"), max_length=100)
    category = forms.ChoiceField(label=_("category"), choices=Elective.Category.choices)
    teacher = forms.ModelChoiceField(label=_("teacher"), queryset=Teacher.objects.none())
    room = forms.CharField(label=_("room"), max_length=50)
    slot = forms.ModelChoiceField(label=_("time slot"), queryset=TimeSlot.objects.none())
    capacity = forms.IntegerField(label=_("capacity"), min_value=1, max_value=1000)
    grade_levels = forms.TypedMultipleChoiceField(
        label=_("eligible grades"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: open to every grade"),
    )  # fmt: skip
    description = forms.CharField(
        label=_("description"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )
    photo = forms.FileField(label=_("photo"), required=False, help_text=_("JPEG, PNG or WebP, at most 5 MB"))

    def __init__(
        self, *args: Any, catalogue: Catalogue, elective: Elective | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.catalogue, self.elective = catalogue, elective
        school: School = catalogue.school
        self.fields["teacher"].queryset = Teacher.objects.filter(school=school)  # type: ignore[attr-defined]
        self.fields["slot"].queryset = catalogue.slots.all()  # type: ignore[attr-defined]
        levels = [(level, GRADE_NAMES.get(level, level)) for level in school.levels]
        self.fields["grade_levels"].choices = levels  # type: ignore[attr-defined]

    def title_taken(self, title: str) -> bool:
        """Whether another elective of the catalogue has this title (titles are unique
        within a catalogue; the database's constraint stays the last guard)."""
        clash = self.catalogue.electives.filter(title=title)
        if self.elective is not None:
            clash = clash.exclude(pk=self.elective.pk)
        return clash.exists()

    def clean_title(self) -> str:
        title: str = self.cleaned_data["title"]
        if self.title_taken(title):
            raise forms.ValidationError(DUPLICATE_TITLE, code="duplicate_title")
        return title


# A round's times: a year outside these is a typo (and year 1 overflows on its way to UTC).
ROUND_YEARS = (2000, 2100)


def _round_year(value: dt.datetime) -> None:
    if not ROUND_YEARS[0] <= value.year <= ROUND_YEARS[1]:
        raise forms.ValidationError(
            _("Choose a time between the years %(first)d and %(last)d."),
            code="year_out_of_range",
            params={"first": ROUND_YEARS[0], "last": ROUND_YEARS[1]},
        )


class RoundForm(forms.Form):
    kind = forms.ChoiceField(label=_("kind"), choices=SelectionRound.Kind.choices)
    opens_at = forms.DateTimeField(
        label=_("opens at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        validators=[_round_year],
    )  # fmt: skip
    closes_at = forms.DateTimeField(
        label=_("closes at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        validators=[_round_year],
    )  # fmt: skip
    max_choices = forms.IntegerField(label=_("choices per student"), min_value=1, max_value=10, initial=5)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("opens_at") and data.get("closes_at") and data["closes_at"] <= data["opens_at"]:
            raise forms.ValidationError(_("A round must close after it opens."))
        return data


class RatingForm(forms.Form):
    stars = forms.TypedChoiceField(
        label=_("stars"), choices=[(i, "★" * i) for i in range(5, 0, -1)], coerce=int
    )
    comment = forms.CharField(label=_("comment"), max_length=300, required=False)


class WorkForm(forms.Form):
    title = forms.CharField(label=_("title"), max_length=100)
    description = forms.CharField(label=_("description"), max_length=500, required=False)
    photo = forms.FileField(label=_("photo"), help_text=_("JPEG, PNG or WebP, at most 5 MB"))


ATTENDANCE_CHOICES = Attendance.Status.choices
