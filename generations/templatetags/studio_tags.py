"""Template tags of the studio: the share, frame, collection and batch actions on a video's page."""
from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from .. import permissions
from ..models import Batch, Generation
from ..selectors import studio as studio_reads

register = template.Library()


@register.inclusion_tag("generations/studio/_generation_actions.html", takes_context=True)
def studio_actions(context: Any, generation: Generation) -> dict[str, Any]:
    """The studio panel of ``generation`` for the member looking at it (two queries: collections, held in)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    mine = list(studio_reads.collections_of(user)) if user is not None else []
    held = set(studio_reads.collection_ids_for(user, [generation.pk]).get(generation.pk, []))
    batch_url = ""
    if generation.batch is not None and user is not None and generation.owner_id == user.pk:
        name = "generations:compare-detail" if generation.batch.kind == Batch.Kind.COMPARE else "generations:batch"
        batch_url = reverse(name, args=[generation.batch_id])
    return {
        "generation": generation, "csrf_token": context.get("csrf_token"),
        "is_owner": user is not None and generation.owner_id == user.pk,
        "has_video": permissions.may_see_files(user, generation),
        # A team collection holds that team's videos only (selectors.studio.addable_generations).
        "collections": [c for c in mine if str(c.pk) not in held and (
            c.team_id is None or (c.team_id == generation.team_id
                                  and generation.visibility == Generation.Visibility.TEAM))],
        "held_in": [c for c in mine if str(c.pk) in held],
        "batch_url": batch_url,
    }
