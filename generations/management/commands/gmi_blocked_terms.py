"""manage.py gmi_blocked_terms add|remove|list [TERM ...]: the staff's list of blocked prompt terms."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ...models import BlockedTerm
from ...services import moderation


class Command(BaseCommand):
    requires_system_checks: list[str] = []  # a clear message of its own beats a wall of check warnings
    help = "Add, remove or list blocked prompt terms (matched case-, accent- and look-alike-insensitively)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["add", "remove", "list"])
        parser.add_argument("terms", nargs="*", metavar="TERM")

    def handle(self, *args, action: str, terms: list[str], **options):
        terms = [t for t in (term.strip() for term in terms) if t]
        if action == "list":
            return self._list()
        if not terms:
            raise CommandError(f"Name at least one term to {action}.")
        if action == "add":
            empty = [t for t in terms if not moderation.normalize_text(t)]
            if empty:
                raise CommandError(f"These terms have no letters or digits to match on: {', '.join(empty)}")
            created = moderation.add_blocked_terms(terms=terms)
            self.stdout.write(self.style.SUCCESS(f"Added {len(created)} term{'s' if len(created) != 1 else ''}."))
            known = len(terms) - len(created)
            if known:
                self.stdout.write(f"{known} {'was' if known == 1 else 'were'} already blocked.")
        else:
            removed = moderation.remove_blocked_terms(terms=terms)
            self.stdout.write(self.style.SUCCESS(f"Removed {removed} term{'s' if removed != 1 else ''}."))
            if removed < len(terms):
                self.stdout.write(f"{len(terms) - removed} {'was' if len(terms) - removed == 1 else 'were'} "
                                  "not on the list.")

    def _list(self) -> None:
        rows = list(BlockedTerm.objects.order_by("normalized").values_list("term", "normalized"))
        if not rows:
            self.stdout.write("No blocked terms.")
            return
        for term, normalized in rows:
            self.stdout.write(term if term == normalized else f"{term}\t(matches {normalized!r})")
