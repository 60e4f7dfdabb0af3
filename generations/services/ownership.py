"""What an owner does with a video after submitting it: rename it, star it, keep it, share it with a team or not."""
from __future__ import annotations

from typing import Any

from django.db import transaction

from .. import permissions
from ..exceptions import InvalidInput, NotFound
from ..models import Generation, Membership, Team
from . import moderation

#: Marks an argument that was not given (None is a value: "no team").
UNSET: Any = object()

TITLE_MAX = Generation._meta.get_field("title").max_length or 200


def update_generation(
    *,
    generation: Generation,
    user: Any,
    title: Any = UNSET,
    visibility: Any = UNSET,
    team: Any = UNSET,
    favorite: Any = UNSET,
    keep: Any = UNSET,
) -> Generation:
    """Change what the owner may change; only the fields given. Returns the generation, saved.

    Only the owner may (anyone else gets ``NotFound``, as if it did not exist). ``team`` is a
    team slug (or a Team) the owner belongs to, or None/"" for none; ``visibility`` is
    "private" or "team" and "team" needs a team. A video moderation removed cannot be shared
    again, and under pre-moderation one newly shared with a team waits for approval.
    Field errors raise ``InvalidInput`` keyed by field, with what to change.
    """
    if not permissions.may_change(user, generation) or generation.deleted_at is not None:
        raise NotFound("There is no such generation.")
    errors: dict[str, list[str]] = {}
    changed: dict[str, Any] = {}
    if title is not UNSET:
        text = " ".join(str(title or "").split())
        if len(text) > TITLE_MAX:
            errors["title"] = [f"A title has at most {TITLE_MAX} characters (this one has {len(text)})."]
        elif "\x00" in text:
            errors["title"] = ["A title cannot contain a NUL character."]
        else:
            changed["title"] = text
    for name, value in (("favorite", favorite), ("keep", keep)):
        if value is UNSET:
            continue
        if not isinstance(value, bool):
            errors[name] = ["Must be true or false."]
        else:
            changed[name] = value
    new_team = generation.team
    if team is not UNSET:
        new_team = _own_team(user, team, errors)
    new_visibility = generation.visibility
    if visibility is not UNSET:
        if visibility not in Generation.Visibility.values:
            errors["visibility"] = ["Must be 'private' or 'team'."]
        else:
            new_visibility = visibility
    elif team is not UNSET and new_team is None:
        new_visibility = Generation.Visibility.PRIVATE  # leaving every team makes it private
    if new_visibility == Generation.Visibility.TEAM and "team" not in errors:
        if new_team is None:
            errors["visibility"] = ["Choose a team to share this video with, or keep it private."]
        elif generation.is_removed:
            errors["visibility"] = ["Moderation removed this video, so it cannot be shared."]
    if errors:
        raise InvalidInput(errors)
    sharing_anew = new_visibility == Generation.Visibility.TEAM and (
        generation.visibility != Generation.Visibility.TEAM or generation.team_id != getattr(new_team, "pk", None))
    if team is not UNSET or visibility is not UNSET:
        changed["team"] = new_team
        changed["visibility"] = new_visibility
        if sharing_anew and generation.moderation != Generation.Moderation.REJECTED:
            changed["moderation"] = moderation.initial_moderation(visibility=new_visibility)
    if not changed:
        return generation
    with transaction.atomic():
        for name, value in changed.items():
            setattr(generation, name, value)
        generation.save(update_fields=list(changed))
    return generation


def _own_team(user: Any, team: Any, errors: dict[str, list[str]]) -> Team | None:
    if team in (None, ""):
        return None
    slug = team.slug if isinstance(team, Team) else str(team)
    found = Team.objects.filter(slug=slug, pk__in=Membership.objects.filter(user=user).values("team_id")).first()
    if found is None:
        # The same answer for "no such team" and "not yours": other teams are not disclosed.
        errors["team"] = ["You are not in a team with this name."]
    return found
