"""Creates the per-minute schedule that sends due webhook deliveries (retries included)."""
from django.db import migrations

NAME = "gmi-webhooks"


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME,
        defaults={"func": "generations.tasks.deliver_webhooks", "schedule_type": "I", "minutes": 1, "repeats": -1},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("generations", "0008_webhooks")]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
