"""The other forms of the member pages: submission options, gallery filters, flags, teams, tokens, webhooks."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django import forms
from django.contrib.auth import get_user_model

from .. import words
from ..models import Collection, Generation, Membership, VideoModel


def _choice_field(form: forms.Form, name: str) -> forms.ChoiceField:
    """A field declared as a ChoiceField, typed as one so its choices can be set per request."""
    return cast(forms.ChoiceField, form.fields[name])


class SubmitForm(forms.Form):
    """What goes around the payload: the model, the team and who may see the video."""

    model = forms.ChoiceField(label="Model")
    team = forms.ChoiceField(label="Team", required=False)
    visibility = forms.ChoiceField(label="Who can see it", choices=Generation.Visibility.choices,
                                   widget=forms.RadioSelect, initial=Generation.Visibility.PRIVATE)
    rerun_of = forms.UUIDField(required=False, widget=forms.HiddenInput)
    idempotency_key = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)

    def __init__(self, *args: Any, models: Sequence[VideoModel] = (), teams: Sequence[Any] = (),
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choice_field(self, "model").choices = [(m.pk, m.label) for m in models]
        _choice_field(self, "team").choices = [("", "No team (personal)")] + [(t.slug, t.name) for t in teams]
        _choice_field(self, "visibility").choices = [
            (Generation.Visibility.PRIVATE, "Only me"),
            (Generation.Visibility.TEAM, "My team"),
        ]


class GalleryFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, label="Status")
    model = forms.ChoiceField(required=False, label="Model")
    q = forms.CharField(required=False, label="Search", max_length=200,
                        widget=forms.SearchInput(attrs={"placeholder": "Search prompts"}))
    favorites = forms.BooleanField(required=False, label="Starred only")
    collection = forms.ChoiceField(required=False, label="Collection")

    ACTIVE = ",".join(Generation.ACTIVE)

    def __init__(self, *args: Any, models: Sequence[VideoModel] = (), collections: Sequence[Collection] = (),
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choice_field(self, "status").choices = [("", "Any status"), (self.ACTIVE, "In progress")] + [
            (value, words.status_words(value)) for value in Generation.Status.values]
        _choice_field(self, "model").choices = [("", "Any model")] + [(m.pk, m.label) for m in models]
        _choice_field(self, "collection").choices = [("", "Any collection")] + collection_choices(collections)

    def filters(self) -> dict[str, str]:
        if not self.is_bound or not self.is_valid():
            return {"status": "", "model": "", "q": "", "favorites": "", "collection": ""}
        found = {k: (self.cleaned_data.get(k) or "").strip() for k in ("status", "model", "q", "collection")}
        found["favorites"] = "1" if self.cleaned_data.get("favorites") else ""
        return found


def collection_choices(collections: Sequence[Collection]) -> list[tuple[str, str]]:
    """A select's options for the member's collections, a team's named so two of the same name differ."""
    return [(str(c.pk), f"{c.name} (team {c.team.name})" if c.team_id and c.team else c.name) for c in collections]


class GalleryCollectForm(forms.Form):
    """The gallery's "add to / remove from a collection" for the ticked videos, several at once.

    The ids stay text: which of them the member may add is the collections service's rule.
    """

    collection = forms.ChoiceField(required=False, label="Collection")
    name = forms.CharField(required=False, max_length=120, label="Or a new collection named")
    remove = forms.CharField(required=False, label="Take out of the collection shown")

    def __init__(self, *args: Any, collections: Sequence[Collection] = (), **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "gmi-collect-%s")
        super().__init__(*args, **kwargs)
        _choice_field(self, "collection").choices = [("", "Choose one")] + collection_choices(collections)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        chosen = self.data.getlist("generations") if hasattr(self.data, "getlist") else []
        cleaned["generations"] = list(dict.fromkeys(value.strip() for value in chosen if value.strip()))
        if not cleaned["generations"]:
            raise forms.ValidationError("Tick the videos first: the box on each card chooses it.")
        cleaned["name"] = (cleaned.get("name") or "").strip()
        if cleaned.get("remove"):
            return cleaned
        if cleaned.get("collection") and cleaned["name"]:
            self.add_error("name", "Choose a collection or type a new name, not both.")
        elif not cleaned.get("collection") and not cleaned["name"]:
            self.add_error("collection", "Choose a collection, or type a name for a new one.")
        return cleaned


class GenerationOwnForm(forms.Form):
    """The owner's changes to a video, posted from its page or the gallery; only the fields sent change."""

    title = forms.CharField(required=False, label="Title", max_length=None, strip=True)
    visibility = forms.ChoiceField(required=False, label="Who can see it",
                                   choices=[("private", "Only me"), ("team", "My team")])
    team = forms.CharField(required=False, label="Team")
    favorite = forms.ChoiceField(required=False, choices=[("1", "Starred"), ("0", "Not starred")])
    keep = forms.ChoiceField(required=False, choices=[("1", "Kept"), ("0", "Not kept")])

    def changes(self) -> dict[str, Any]:
        """The fields the form carried, as the ownership service takes them."""
        sent = {name: self.cleaned_data[name] for name in self.fields if name in self.data}
        for name in ("favorite", "keep"):
            if name in sent:
                sent[name] = sent[name] == "1"
        if "visibility" in sent and not sent["visibility"]:
            sent.pop("visibility")
        if "team" in sent and "visibility" not in sent:
            # One choice on the page, "Only me" or "Team: …": a team means sharing with it.
            sent["visibility"] = "team" if sent["team"] else "private"
        return sent


class FlagForm(forms.Form):
    reason = forms.CharField(label="What is wrong with this video?", max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 3}))


class TeamCreateForm(forms.Form):
    name = forms.CharField(label="Team name", max_length=120)


class MemberAddForm(forms.Form):
    username = forms.CharField(label="Username", max_length=150)
    role = forms.ChoiceField(label="Role", choices=[(Membership.Role.MEMBER, "Member"),
                                                    (Membership.Role.ADMIN, "Admin")],
                             initial=Membership.Role.MEMBER)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        User = get_user_model()
        try:
            username_field = User._meta.get_field(User.USERNAME_FIELD)
            label = getattr(username_field, "verbose_name", User.USERNAME_FIELD)
            self.fields["username"].label = str(label).capitalize()
        except Exception:
            pass


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=[(Membership.Role.MEMBER, "Member"),
                                                    (Membership.Role.ADMIN, "Admin")])


class InviteForm(forms.Form):
    email = forms.EmailField(label="Email (optional, for your records)", required=False)
    role = forms.ChoiceField(label="Role", choices=[(Membership.Role.MEMBER, "Member"),
                                                    (Membership.Role.ADMIN, "Admin")],
                             initial=Membership.Role.MEMBER)


class TokenCreateForm(forms.Form):
    EXPIRY_CHOICES = [("30", "In 30 days"), ("90", "In 90 days"), ("365", "In a year"), ("7", "In 7 days"),
                      ("", "Never (until revoked)")]

    name = forms.CharField(label="Token name", max_length=100, initial="API token",
                           help_text="Say where you will use it, e.g. “render script”.")
    scope = forms.ChoiceField(label="What it may do", initial="read+submit", required=False,
                              widget=forms.RadioSelect, choices=[
        ("read+submit", "Read and submit: everything you can do through the API"),
        ("read", "Read only: list and download videos, see quotas (GET requests)"),
    ])
    expires_in_days = forms.ChoiceField(label="Expires", choices=EXPIRY_CHOICES, initial="90", required=False,
                                        help_text="A token that expires limits the harm if it leaks.")

    def clean_scope(self) -> str:
        return self.cleaned_data.get("scope") or "read+submit"


class WebhookEndpointForm(forms.Form):
    """A new webhook endpoint; the target and events are checked by the service, which says what to change."""

    # A CharField, not a URLField: the service's refusal names the reason (scheme, address, allow-list).
    url = forms.CharField(label="Receiver URL", max_length=2000,
                          widget=forms.URLInput(attrs={"placeholder": "https://example.com/hooks/gmi"}),
                          help_text="An http(s) address on the public internet. Redirects are never followed.")
    events = forms.MultipleChoiceField(label="Events", widget=forms.CheckboxSelectMultiple, error_messages={
        "required": "Choose at least one event to receive.",
        "invalid_choice": "%(value)s is not an event this site sends."})
    team = forms.ChoiceField(label="For", required=False, error_messages={
        "invalid_choice": "You can add webhooks only for teams you own or administer."})

    def __init__(self, *args: Any, events: Sequence[str] = (), teams: Sequence[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choice_field(self, "events").choices = [(e, e) for e in events]
        _choice_field(self, "team").choices = [("", "My own videos")] + [
            (t.slug, f"Team {t.name} (all its shared videos)") for t in teams]


class TeamSwitchForm(forms.Form):
    team = forms.CharField(required=False, max_length=140)
    next = forms.CharField(required=False, max_length=2000)


class NotificationPreferencesForm(forms.Form):
    """Per kind: off, in the app, or also by e-mail, and whether its e-mails come as a digest."""

    CHANNEL_LABELS = {"off": "Off", "in_app": "In the app", "email": "In the app and by e-mail"}

    def __init__(self, *args: Any, rows: Sequence[dict[str, Any]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows = list(rows)
        for row in self.rows:
            kind = row["kind"]
            self.fields[f"{kind}-channel"] = forms.ChoiceField(
                label=row["label"], help_text=row["help"], widget=forms.RadioSelect, initial=row["channel"],
                choices=[(c, self.CHANNEL_LABELS.get(c, c)) for c in row["channels"]])
            if "in_app" in row["channels"]:  # a kind with an in-app channel can also wait for a digest
                self.fields[f"{kind}-digest"] = forms.BooleanField(
                    label="As a digest", required=False, initial=row["digest"],
                    help_text="E-mails of this kind wait and go out together.")

    def kinds(self) -> list[dict[str, Any]]:
        """The rows with their bound fields, for the template."""
        return [{**row, "channel_field": self[f"{row['kind']}-channel"],
                 "digest_field": self[f"{row['kind']}-digest"] if f"{row['kind']}-digest" in self.fields else None}
                for row in self.rows]

    def choices(self) -> dict[str, dict[str, Any]]:
        """The cleaned choices as ``notifications.set_preferences`` takes them."""
        return {row["kind"]: {"channel": self.cleaned_data[f"{row['kind']}-channel"],
                              "digest": bool(self.cleaned_data.get(f"{row['kind']}-digest", False))}
                for row in self.rows}
