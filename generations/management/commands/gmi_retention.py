"""manage.py gmi_retention [--dry-run]: delete files past their retention, printing progress and bytes freed."""
from __future__ import annotations

from django.core.management.base import BaseCommand
from django.template.defaultfilters import filesizeformat

from ...selectors import retention as retention_reads
from ...services import retention


class Command(BaseCommand):
    help = ("Delete the files of videos past their retention (GMI_RETENTION_DAYS, or a team's fewer days; kept "
            "videos stay) whose owners were told a week before, and tell owners of the next ones.")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Say what would be deleted; change nothing.")

    def handle(self, *args, dry_run: bool = False, **options):
        days = retention_reads.site_days()
        self.stdout.write(f"Site retention: {f'{days} days' if days is not None else 'none (files kept forever)'}"
                          f"{' — dry run, nothing is changed' if dry_run else ''}")
        result = retention.apply_retention(dry_run=dry_run, progress=self.stdout.write)
        for example in result.examples:
            self.stdout.write(f"  {'would delete' if dry_run else 'deleted'} the files of {example}")
        verb = "Would free" if dry_run else "Freed"
        self.stdout.write(self.style.SUCCESS(
            f"{verb} {result.bytes_freed} bytes ({filesizeformat(result.bytes_freed)}) from "
            f"{result.deleted_videos} videos; {'would tell' if dry_run else 'told'} {result.warned_members} members "
            f"about {result.warned_videos} videos whose files go within a week."
        ))
