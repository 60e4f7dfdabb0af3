"""Collections: members' named sets of videos, personal or shared with a team; deleting one deletes no video."""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .. import permissions
from ..exceptions import InvalidInput, NotAllowed, NotFound
from ..models import Collection, CollectionItem, Generation, Team
from ..policies import require_below_limit
from ..selectors.studio import addable_generations
from ..types import User
from . import submissions

MAX_ITEMS_PER_CALL = 100


def _clean_name(name: Any) -> str:
    cleaned = " ".join(str(name or "").split())
    if not cleaned:
        raise InvalidInput({"name": ["Give the collection a name."]})
    if len(cleaned) > 120:
        raise InvalidInput({"name": ["Use at most 120 characters."]})
    return cleaned


def create_collection(*, user: User, name: Any, team: Team | str | None = None) -> Collection:
    """A new collection: personal, or with ``team`` (a team of the member's) shared with that team."""
    cleaned = _clean_name(name)
    team_obj = submissions.submitter_team(user=user, team=team)
    require_below_limit(setting="MAX_COLLECTIONS_PER_USER",
                        used=Collection.objects.filter(owner=user).count(),
                        message="You have {cap} collections already; delete one you no longer use.")
    return Collection.objects.create(owner=user, team=team_obj, name=cleaned)


def rename_collection(*, collection: Collection, user: User, name: Any) -> Collection:
    if not permissions.may_manage_collection(user, collection):
        raise NotAllowed("Only the collection's creator or the team's admins may rename it.")
    collection.name = _clean_name(name)
    collection.save(update_fields=["name", "updated_at"])
    return collection


def delete_collection(*, collection: Collection, user: User) -> None:
    """Delete the collection and its list of items; the videos themselves stay as they are."""
    if not permissions.may_manage_collection(user, collection):
        raise NotAllowed("Only the collection's creator or the team's admins may delete it.")
    collection.delete()


def add_to_collection(*, collection: Collection, user: User, generation_ids: Any) -> int:
    """Add videos to a collection the member may open; return how many were new to it.

    Every id must be a video the member may add (``addable_generations``), else
    ``InvalidInput`` names those that are not and nothing is added. Adding one twice is harmless.
    """
    if not isinstance(generation_ids, list) or not generation_ids:
        raise InvalidInput({"generations": ["Give a list of generation ids."]})
    if len(generation_ids) > MAX_ITEMS_PER_CALL:
        raise InvalidInput({"generations": [f"Add at most {MAX_ITEMS_PER_CALL} videos at once."]})
    wanted = list(dict.fromkeys(str(g) for g in generation_ids))
    found: set[str] = set()
    valid_ids = []
    for value in wanted:
        try:
            valid_ids.append(str(Generation._meta.pk.to_python(value)))
        except ValidationError:
            continue  # a malformed id is reported below like an unknown one
    if valid_ids:
        found = {str(pk) for pk in addable_generations(collection=collection, user=user)
                 .filter(pk__in=valid_ids).values_list("pk", flat=True)}
    missing = [value for value in wanted if value not in found]
    if missing:
        where = "this team's videos" if collection.team_id else "your videos"
        raise InvalidInput({"generations": [f"Not among {where}: {', '.join(missing[:10])}."]})
    with transaction.atomic():
        before = CollectionItem.objects.filter(collection=collection).count()
        CollectionItem.objects.bulk_create(
            [CollectionItem(collection=collection, generation_id=pk, added_by=user) for pk in found],
            ignore_conflicts=True,
        )
        added = CollectionItem.objects.filter(collection=collection).count() - before
        Collection.objects.filter(pk=collection.pk).update(updated_at=timezone.now())
    return added


def remove_from_collection(*, collection: Collection, user: User, generation_id: Any) -> None:
    """Take one video out of a collection the member may open (the video stays); ``NotFound`` if not in it."""
    try:
        deleted, _ = CollectionItem.objects.filter(collection=collection, generation_id=generation_id).delete()
    except (ValueError, ValidationError):
        deleted = 0  # a malformed id is not in the collection
    if not deleted:
        raise NotFound("This video is not in the collection.")


def add_to_new_collection(*, user: User, name: Any, generation_ids: Any) -> tuple[Collection, int]:
    """A new personal collection named ``name`` holding ``generation_ids``: both or neither (a refused video
    leaves no empty collection behind)."""
    with transaction.atomic():
        collection = create_collection(user=user, name=name)
        return collection, add_to_collection(collection=collection, user=user, generation_ids=generation_ids)
