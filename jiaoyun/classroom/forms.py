from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from jiaoyun.classroom import services
from jiaoyun.classroom.models import QuestionKind

LETTERS = "ABCDEFGHIJ"
TRUE_WORDS = {"true", "t", "yes", "y", "1", "对", "是", "正确", "√", "✓"}
FALSE_WORDS = {"false", "f", "no", "n", "0", "错", "否", "错误", "×", "✗"}


def parse_key(kind: str, text: str) -> Any:
    """A key as a teacher types it: B, AC, 对, 3.14, or accepted texts separated by |."""
    text = text.strip()
    if not text:
        return None
    if kind == QuestionKind.SINGLE:
        return _letter(text)
    if kind == QuestionKind.MULTIPLE:
        return [_letter(ch) for ch in text.replace(",", "").replace("，", "").replace(" ", "")]
    if kind == QuestionKind.TRUE_FALSE:
        if text.lower() in TRUE_WORDS:
            return True
        if text.lower() in FALSE_WORDS:
            return False
        raise forms.ValidationError(_("Write true or false."))
    if kind == QuestionKind.NUMBER:
        try:
            return float(text)
        except ValueError:
            raise forms.ValidationError(_("Write a number.")) from None
    return [part.strip() for part in text.split("|") if part.strip()]


def _letter(text: str) -> int:
    letter = text.strip().upper()
    if len(letter) != 1 or letter not in LETTERS:
        raise forms.ValidationError(_("Write the letter of the right option, such as B."))
    return LETTERS.index(letter)


class QuestionForm(forms.Form):
    kind = forms.ChoiceField(label=_("kind"), choices=QuestionKind.choices)
    prompt = forms.CharField(label=_("question"), max_length=500)
    options = forms.CharField(
        label=_("options"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One option a line (choice questions)"),
    )  # fmt: skip
    key = forms.CharField(
        label=_("answer key"), required=False, max_length=200,
        help_text=_("B, AC, true, 3.14 or accepted texts separated by |; leave empty for an opinion"),
    )  # fmt: skip
    tolerance = forms.FloatField(label=_("tolerance"), required=False, min_value=0)
    knowledge_points = forms.CharField(
        label=_("knowledge points"), required=False, max_length=300, help_text=_("Separated by commas")
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        kind = data["kind"]
        try:
            key = parse_key(kind, data.get("key", ""))
        except forms.ValidationError as error:
            self.add_error("key", error)
            return data
        points = data.get("knowledge_points", "").replace("，", ",").split(",")
        try:
            data["spec"] = services.question_spec(
                kind=kind,
                prompt=data["prompt"],
                options=data.get("options", "").splitlines(),
                key=key,
                tolerance=data.get("tolerance") or 0,
                knowledge_points=points,
                true_false_labels=(gettext("True"), gettext("False")),
            )
        except services.QuestionError as error:
            field = {"options": "options", "key": "key", "prompt": "prompt"}.get(str(error))
            message = {
                "options": _("A choice question needs 2 to 10 options."),
                "key": _("The key does not fit the options."),
            }.get(str(error), _("This question cannot be asked."))
            self.add_error(field, message)
        return data


class QuestionSetForm(forms.Form):
    title = forms.CharField(label=_("title"), max_length=100)
