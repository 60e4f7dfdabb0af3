"""What staff can do to a generation (approve, reject, retry, cancel, re-mirror, refund), one service call each.

Whether an action applies is ``staff.action_refusal``'s to say; the change page's
buttons ask the same function, so they offer exactly the actions that would run.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms

from ..models import Generation
from ..services import moderation, staff, submissions

# Takes one generation; returns None when done, or why it was left alone.
GenerationAction = Callable[[Generation], str | None]


class RejectForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}), max_length=2000,
        help_text="The owner sees this reason next to their removed video.",
    )


def _when_it_applies(action: str, run: GenerationAction) -> GenerationAction:
    def act(generation: Generation) -> str | None:
        refusal = staff.action_refusal(generation, action)
        return refusal if refusal is not None else run(generation)

    return act


def approve_action(user: Any) -> GenerationAction:
    def approve(generation: Generation) -> None:
        moderation.moderate_generation(generation=generation, moderator=user, decision="approve")

    return _when_it_applies("approve", approve)


def reject_action(user: Any, reason: str) -> GenerationAction:
    def reject(generation: Generation) -> None:
        moderation.moderate_generation(generation=generation, moderator=user, decision="reject", reason=reason)

    return _when_it_applies("reject", reject)


def _retry(user: Any) -> GenerationAction:
    def retry(generation: Generation) -> None:
        staff.retry_generation(generation=generation, actor=user)

    return _when_it_applies("retry", retry)


def _cancel(user: Any) -> GenerationAction:
    def cancel(generation: Generation) -> None:
        submissions.cancel_generation(generation=generation, actor=user)

    return _when_it_applies("cancel", cancel)


def _remirror(user: Any) -> GenerationAction:
    def remirror(generation: Generation) -> None:
        staff.remirror_generation(generation=generation, actor=user)

    return _when_it_applies("remirror", remirror)


def _refund(user: Any) -> GenerationAction:
    def refund(generation: Generation) -> str | None:
        # Only the service knows whether anything is left: refunds happen exactly once.
        if not staff.refund_usage(generation=generation, actor=user):
            return "nothing left to refund (already refunded)"
        return None

    return _when_it_applies("refund", refund)


# name: (past tense for the message, factory taking the acting user). Reject is apart: it needs a reason.
GENERATION_ACTIONS: dict[str, tuple[str, Callable[[Any], GenerationAction]]] = {
    "approve": ("Approved", approve_action),
    "retry": ("Retried", _retry),
    "cancel": ("Cancelled", _cancel),
    "remirror": ("Started re-mirroring", _remirror),
    "refund": ("Refunded", _refund),
}
