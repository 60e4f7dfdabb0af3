"""Action plumbing shared by the admins: run a service per object, collect skip reasons, report once."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest

from ..exceptions import GenerationError


@dataclass
class ActionReport:
    """What one action did: how many objects it changed, and why it left the others alone."""

    done: int = 0
    skipped: dict[str, list[str]] = field(default_factory=dict)

    def skip(self, obj_label: str, reason: str) -> None:
        self.skipped.setdefault(reason, []).append(obj_label)

    @property
    def skipped_count(self) -> int:
        return sum(len(labels) for labels in self.skipped.values())


def run_each(objects: Any, fn: Callable[[Any], str | None], *, label: Callable[[Any], str]) -> ActionReport:
    """Call ``fn`` on each object; it returns None when done, or a reason to skip. Errors of
    the app become skip reasons, so one object's refusal never stops the others."""
    report = ActionReport()
    for obj in objects:
        try:
            reason = fn(obj)
        except GenerationError as exc:
            reason = exc.message
        if reason:
            report.skip(label(obj), reason)
        else:
            report.done += 1
    return report


def close_each(model_admin: admin.ModelAdmin, request: HttpRequest, objects: Any, *, closed_at: str,
               already: str, close: Callable[[Any], Any], label: Callable[[Any], str], did: str,
               noun: tuple[str, str]) -> None:
    """Close each selected row (resolve a flag, revoke a token) unless its ``closed_at`` is set; report once."""
    def one(obj: Any) -> str | None:
        if getattr(obj, closed_at):
            return already
        close(obj)
        return None

    tell(model_admin, request, run_each(objects, one, label=label), did=did, noun=noun)


def tell(model_admin: admin.ModelAdmin, request: HttpRequest, report: ActionReport, *, did: str,
         noun: tuple[str, str]) -> None:
    """One message per action: the successes, then each distinct reason for skipping with the objects."""
    singular, plural = noun
    parts = []
    if report.done:
        parts.append(f"{did} {report.done} {singular if report.done == 1 else plural}.")
    elif not report.skipped:
        parts.append("Nothing was selected.")
    if report.skipped:
        details = []
        for reason, labels in report.skipped.items():
            shown = ", ".join(labels[:5]) + (f" and {len(labels) - 5} more" if len(labels) > 5 else "")
            details.append(f"{reason.rstrip('.')} ({shown})")
        n = report.skipped_count
        parts.append(f"Skipped {n} {singular if n == 1 else plural}: " + "; ".join(details) + ".")
    if report.done and not report.skipped:
        level = messages.SUCCESS
    elif report.done:
        level = messages.WARNING
    else:
        level = messages.ERROR if report.skipped else messages.INFO
    model_admin.message_user(request, " ".join(parts), level)
