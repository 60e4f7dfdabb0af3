"""Membership.seen_at: whether a member added by someone else has opened the team yet."""

from django.db import migrations, models
from django.db.models import F


def existing_members_have_seen_their_teams(apps, schema_editor):
    # Memberships from before this field keep filling galleries as they did.
    apps.get_model("generations", "Membership").objects.filter(seen_at__isnull=True).update(seen_at=F("joined_at"))


class Migration(migrations.Migration):

    dependencies = [
        ('generations', '0004_upstream_pause'),
    ]

    operations = [
        migrations.AddField(
            model_name='membership',
            name='seen_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(existing_members_have_seen_their_teams, migrations.RunPython.noop),
    ]
