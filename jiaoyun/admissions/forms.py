"""Forms parse and explain; the services decide. Every message here is for the person typing."""

from __future__ import annotations

import re
from typing import Any, cast

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from jiaoyun.admissions import services
from jiaoyun.admissions.models import Application, Mechanism, PlacementRound, RegistrationWindow, Tier
from jiaoyun.core.identity import birth_date_of, id_number_problem, normalize_id_number
from jiaoyun.core.models import School, Student

DATE = forms.DateInput(attrs={"type": "date"})
# Seats of one kindergarten window or one school's intake: beyond any school, and well
# within the database's integer (a bigger number was a server error).
MAX_SEATS = 10_000
ID_PROBLEMS = {
    "format": _("An ID number is 17 digits and a check digit (0-9 or X)."),
    "birth_date": _("The ID number does not contain a valid birth date."),
    "check_digit": _("The check digit of this ID number is wrong; please check each digit."),
}


def split_list(value: str) -> list[str]:
    """Categories typed one per line or separated by semicolons (ASCII or Chinese)."""
    return [part.strip() for part in re.split(r"[;；\n]", value) if part.strip()]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several documents in one field; each is checked for type and size."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single = super().clean
        files = (
            [single(d, initial) for d in data] if isinstance(data, list | tuple) else [single(data, initial)]
        )
        files = [f for f in files if f]
        problems = [p for p in (services.document_problem(f) for f in files) if p]
        if problems:
            raise forms.ValidationError(problems)
        if len(files) > services.MAX_DOCUMENTS:
            raise forms.ValidationError(_("Upload at most 10 documents."))
        return files


class RoundForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=100)
    kind = forms.ChoiceField(label=_("kind"), choices=PlacementRound.Kind.choices)
    school_year = forms.IntegerField(label=_("school year"), min_value=2000, max_value=2100)
    mechanism = forms.ChoiceField(
        label=_("mechanism"),
        choices=[c for c in Mechanism.choices if c[0] != Mechanism.KINDERGARTEN],
        help_text=_("Middle-school rounds only; kindergarten rounds always fill tiers in order."),
    )


class WindowForm(forms.Form):
    kindergarten = forms.ModelChoiceField(
        label=_("kindergarten"), queryset=School.objects.filter(kind=School.Kind.KINDERGARTEN)
    )
    zone = forms.CharField(label=_("zone"), max_length=50, required=False)
    seats = forms.IntegerField(label=_("planned seats"), min_value=1, max_value=MAX_SEATS)
    waitlist_size = forms.IntegerField(
        label=_("waitlist size"),
        min_value=0,
        max_value=MAX_SEATS,
        required=False,
        help_text=_("Empty: no limit"),
    )
    opens_on = forms.DateField(label=_("opens on"), widget=DATE)
    closes_on = forms.DateField(label=_("closes on"), widget=DATE)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ranks = [("", _("not used"))] + [(str(i), str(i)) for i in range(1, len(Tier.choices) + 1)]
        for code, label in Tier.choices:
            self.fields[f"rank_{code}"] = forms.ChoiceField(
                label=_("%(tier)s: order") % {"tier": label}, choices=ranks, required=False
            )
            self.fields[f"documents_{code}"] = forms.CharField(
                label=_("%(tier)s: documents needed") % {"tier": label}, max_length=300, required=False
            )

    def plain_fields(self) -> list[Any]:
        return [
            self[name] for name in ("kindergarten", "zone", "seats", "waitlist_size", "opens_on", "closes_on")
        ]

    def tier_fields(self) -> list[tuple[Any, Any]]:
        return [(self[f"rank_{code}"], self[f"documents_{code}"]) for code in Tier.values]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        ranked = sorted((int(data[f"rank_{c}"]), c) for c in Tier.values if data.get(f"rank_{c}"))
        ranks = [r for r, _c in ranked]
        if ranks != list(range(1, len(ranks) + 1)):
            raise forms.ValidationError(_("Number the tiers used 1, 2, 3 … without gaps or repeats."))
        data["tiers"] = [c for _r, c in ranked]
        data["tier_documents"] = {c: data.get(f"documents_{c}", "") for c in data["tiers"]}
        return data


class RoundSchoolForm(forms.Form):
    school = forms.ModelChoiceField(
        label=_("school"),
        queryset=School.objects.filter(
            kind__in=[k for k, levels in School.LEVELS.items() if 7 in levels]
        ).order_by("code"),
    )
    zone = forms.ChoiceField(label=_("zone"))
    capacity = forms.IntegerField(label=_("seats"), min_value=0, max_value=MAX_SEATS)
    categories = forms.CharField(
        label=_("priority categories"),
        required=False,
        help_text=_("Highest first, separated by semicolons"),
    )

    def __init__(self, *args: Any, zones: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["zone"]).choices = [(z, z) for z in zones]


class CommitmentForm(forms.Form):
    commitment = forms.CharField(
        label=_("seed commitment"),
        max_length=64,
        min_length=64,
        help_text=_("64 hexadecimal digits printed by placement_seed on the offline laptop"),
    )


class DrawForm(forms.Form):
    seed = forms.CharField(label=_("revealed seed"), max_length=200, strip=False)
    public_randomness = forms.CharField(
        label=_("public randomness"),
        max_length=200,
        required=False,
        strip=False,
        help_text=_("The public random value announced in advance, if any"),
    )


class ApplyForm(forms.Form):
    child_name = forms.CharField(label=_("child's name"), max_length=50)
    child_birth_date = forms.DateField(label=_("child's birth date"), widget=DATE)
    child_id_number = forms.CharField(label=_("child's ID number"), max_length=24)
    household = forms.ChoiceField(label=_("household registration"), choices=Student.Household.choices)
    claimed_tier = forms.ChoiceField(label=_("priority tier claimed"), required=False)
    documents = MultipleFileField(label=_("documents (PDF, JPG or PNG, at most 5 MB each)"), required=False)

    def __init__(self, *args: Any, window: RegistrationWindow, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.window = window
        cast(forms.ChoiceField, self.fields["claimed_tier"]).choices = [
            ("", _("No priority tier (general)"))
        ] + [(code, label) for code, label, _docs in window.tier_rows()]

    def clean_child_id_number(self) -> str:
        value = normalize_id_number(self.cleaned_data["child_id_number"])
        problem = id_number_problem(value)
        if problem:
            raise forms.ValidationError(ID_PROBLEMS[problem])
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        number, birth = data.get("child_id_number"), data.get("child_birth_date")
        if number and birth and birth_date_of(number) != birth:
            self.add_error("child_birth_date", _("The birth date does not match the ID number."))
        tier = data.get("claimed_tier")
        needed = tier and self.window.tier_documents.get(tier)
        if needed and "documents" not in self.errors and not data.get("documents"):
            self.add_error(
                "documents",
                _("This tier needs: %(documents)s") % {"documents": self.window.tier_documents[tier]},
            )
        return data


class MoreDocumentsForm(forms.Form):
    documents = MultipleFileField(label=_("documents (PDF, JPG or PNG, at most 5 MB each)"))
    note = forms.CharField(label=_("note for the kindergarten"), max_length=300, required=False)


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("decision"),
        choices=[
            (Application.Status.ACCEPTED, _("Accept for the draw")),
            (Application.Status.MORE_INFO, _("Ask for more documents")),
            (Application.Status.REJECTED, _("Reject")),
        ],
        widget=forms.RadioSelect,
    )
    tier = forms.ChoiceField(label=_("tier accepted"), required=False)
    reason = forms.CharField(
        label=_("reason or message the parent sees"),
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Write the reason the parent will see.")},
    )

    def __init__(self, *args: Any, application: Application, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["tier"]).choices = [("", _("General (no priority tier)"))] + [
            (code, label) for code, label, _docs in application.window.tier_rows()
        ]
        if application.claimed_tier and not self.is_bound:
            self.initial["tier"] = application.claimed_tier


class PreferencesForm(forms.Form):
    """Ordered choices among the schools of the child's zone, most wanted first."""

    def __init__(self, *args: Any, schools: list[tuple[str, str]], current: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for position in range(1, len(schools) + 1):
            self.fields[f"choice_{position}"] = forms.ChoiceField(
                label=_("choice %(n)d") % {"n": position},
                choices=[("", "—")] + schools,
                required=False,
                initial=current[position - 1] if position <= len(current) else "",
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        chosen = [data.get(name, "") for name in self.fields]
        filled = [c for c in chosen if c]
        if chosen[: len(filled)] != filled:
            raise forms.ValidationError(_("Fill the choices from the first one on, without gaps."))
        if len(set(filled)) != len(filled):
            raise forms.ValidationError(_("List each school at most once."))
        data["school_codes"] = filled
        return data
