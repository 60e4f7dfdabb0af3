"""Shortcuts the admin tests share: admin URLs, flash messages, a submitted job, a bulk action post."""
from __future__ import annotations

from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.urls import reverse

from generations.models import Generation
from generations.services import submissions
from tests.helpers.factories import VideoModelFactory

S = Generation.Status
M = Generation.Moderation


def changelist(model_name: str = "generation") -> str:
    return reverse(f"admin:generations_{model_name}_changelist")


def change(obj) -> str:
    return reverse(f"admin:generations_{obj._meta.model_name}_change", args=[obj.pk])


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def submitted(user, *, team=None, visibility=None) -> Generation:
    """A generation accepted through the real service, so its quota is reserved in the ledger."""
    VideoModelFactory()
    return submissions.submit_generation(
        user=user, model_id="Veo3", payload={"prompt": "a lighthouse in a storm", "durationSeconds": 4},
        team=team, visibility=visibility,
    )


def bulk(client, action: str, objs, **extra):
    data = {"action": action, ACTION_CHECKBOX_NAME: [str(o.pk) for o in objs], **extra}
    return client.post(changelist(), data, follow=True)
