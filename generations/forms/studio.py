"""Forms of the studio pages: a batch file (CSV or JSON) read into jobs, compares, collections and share links."""
from __future__ import annotations

import csv
import io
import json
from typing import Any, cast

from django import forms

from ..models import Generation

MAX_FILE_BYTES = 1024 * 1024


def read_batch_file(data: bytes, name: str = "") -> list[dict[str, Any]]:
    """Jobs ``[{"model", "payload"}]`` from a CSV (a ``model`` column, every other column a parameter)
    or a JSON list of jobs (or ``{"items": [...]}``). Raises ``forms.ValidationError`` saying what to fix.

    CSV cells stay text (the model's schema turns "4" into 4 where it wants a number); an
    empty cell leaves that parameter out, so the model's default applies.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise forms.ValidationError("Save the file as UTF-8 text (CSV or JSON).") from None
    stripped = text.lstrip()
    if name.lower().endswith(".json") or stripped.startswith(("[", "{")):
        try:
            parsed = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(f"The JSON could not be read: {exc}.") from None
        items = parsed.get("items") if isinstance(parsed, dict) else parsed
        if not isinstance(items, list):
            raise forms.ValidationError('A JSON file holds a list of jobs, each {"model", "payload"}.')
        return items
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip() for f in (reader.fieldnames or [])]
    if "model" not in fields:
        raise forms.ValidationError("The CSV needs a header row with a “model” column, then one column per "
                                    "parameter (for example prompt, durationSeconds).")
    items = []
    for row in reader:
        cells = {(key or "").strip(): (value or "").strip() for key, value in row.items() if key is not None}
        if not any(cells.values()):
            continue  # a blank line
        model = cells.pop("model", "")
        items.append({"model": model, "payload": {key: value for key, value in cells.items() if key and value}})
    if not items:
        raise forms.ValidationError("The file has no jobs: add one row per video under the header.")
    return items


class BatchUploadForm(forms.Form):
    """Step one: the file (or pasted text) and where the videos go."""

    file = forms.FileField(required=False, label="CSV or JSON file",
                           help_text="CSV: a header row with “model” and one column per parameter, one row per "
                           "video. JSON: a list of {\"model\", \"payload\"}.")
    text = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 6}), label="Or paste it here")
    team = forms.ChoiceField(required=False, label="Team", choices=())
    visibility = forms.ChoiceField(choices=Generation.Visibility.choices, initial=Generation.Visibility.PRIVATE,
                                   label="Who can see the videos")

    def __init__(self, *args: Any, teams: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["team"]).choices = [
            ("", "No team (private)"), *[(t.slug, t.name) for t in teams]]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        upload = cleaned.get("file")
        text = cleaned.get("text") or ""
        if upload is None and not text.strip():
            raise forms.ValidationError("Choose a CSV or JSON file, or paste its text.")
        if upload is not None:
            if upload.size > MAX_FILE_BYTES:
                raise forms.ValidationError("The file is larger than 1 MB: split it into several batches.")
            cleaned["items"] = read_batch_file(upload.read(), upload.name or "")
        else:
            cleaned["items"] = read_batch_file(text.encode(), "")
        return cleaned


class BatchConfirmForm(forms.Form):
    """Step two: the jobs as previewed, sent back to be submitted."""

    items = forms.CharField(widget=forms.HiddenInput)
    team = forms.CharField(required=False, widget=forms.HiddenInput)
    visibility = forms.CharField(required=False, widget=forms.HiddenInput)
    idempotency_key = forms.CharField(max_length=200, widget=forms.HiddenInput)

    def clean_items(self) -> list[Any]:
        try:
            items = json.loads(self.cleaned_data["items"])
        except ValueError:
            raise forms.ValidationError("The previewed jobs were damaged: upload the file again.") from None
        if not isinstance(items, list):
            raise forms.ValidationError("The previewed jobs were damaged: upload the file again.")
        return items


class CompareForm(forms.Form):
    """One prompt (and optionally one image) for 2 to 4 models."""

    prompt = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000,
                             label="Prompt", help_text="The same prompt goes to every model.")
    image = forms.FileField(required=False, label="Reference image (optional)",
                            help_text="JPEG or PNG; models that take an image start from it.")
    models = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, label="Models (2 to 4)")
    team = forms.ChoiceField(required=False, label="Team", choices=())
    idempotency_key = forms.CharField(max_length=200, required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, models: Any = (), teams: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["models"]).choices = [(m.pk, m.label) for m in models]
        cast(forms.ChoiceField, self.fields["team"]).choices = [
            ("", "No team (private)"), *[(t.slug, t.name) for t in teams]]

    def clean_models(self) -> list[str]:
        chosen = self.cleaned_data["models"]
        if not 2 <= len(chosen) <= 4:
            raise forms.ValidationError("Choose 2, 3 or 4 models to compare.")
        return chosen


class CollectionForm(forms.Form):
    name = forms.CharField(max_length=120, label="Name")
    team = forms.ChoiceField(required=False, label="Shared with", choices=())

    def __init__(self, *args: Any, teams: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["team"]).choices = [
            ("", "Only me"), *[(t.slug, f"Team {t.name}") for t in teams]]


class ShareForm(forms.Form):
    DAY = 24 * 3600
    expires_in = forms.TypedChoiceField(
        coerce=int, label="The link works for",
        choices=[(3600, "1 hour"), (DAY, "1 day"), (7 * DAY, "7 days"), (30 * DAY, "30 days"), (90 * DAY, "90 days")],
        initial=7 * DAY)
    show_prompt = forms.BooleanField(required=False, label="Show the prompt")
    show_owner = forms.BooleanField(required=False, label="Show my name")
    allow_download = forms.BooleanField(required=False, initial=True, label="Offer a download button")


class FrameForm(forms.Form):
    at = forms.CharField(required=False, initial="last", label="Frame",
                         help_text="Seconds into the video, or “last” for the last frame.")
