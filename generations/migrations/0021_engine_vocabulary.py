"""One vocabulary for the engine: its tables, its schedule, and separate fields for "next due" and each lease.

``Generation.next_poll_at`` served as the next check, the send lease and the mirror lease;
its value goes to the field that meant it by the job's status, so every job is due when it was.
"""
from django.db import migrations, models
from django.db.models import F
from django.db.models.functions import Coalesce

OLD_FUNC, NEW_FUNC = "generations.tasks.start_poller", "generations.tasks.keep_engine"
OLD_NAME, NEW_NAME = "gmi-poller", "gmi-engine"


def split_next_poll(apps, schema_editor):
    Generation = apps.get_model("generations", "Generation")
    polled = Generation.objects.exclude(next_poll_at__isnull=True)
    polled.filter(status__in=("dispatched", "processing")).update(next_check_at=F("next_poll_at"))
    polled.filter(status="queued", send_started_at__isnull=True).update(next_check_at=F("next_poll_at"))
    # A claimed send: the lease of the POST, or (after an unclear answer) the time to reconcile; in
    # both the job is left alone until then and due after it.
    polled.filter(status="queued", send_started_at__isnull=False).update(send_lease_until=F("next_poll_at"))
    polled.filter(status="mirroring").update(mirror_lease_until=F("next_poll_at"))


def join_next_poll(apps, schema_editor):
    Generation = apps.get_model("generations", "Generation")
    Generation.objects.update(next_poll_at=Coalesce("send_lease_until", "mirror_lease_until", "next_check_at"))


def rename_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.filter(func=OLD_FUNC).update(func=NEW_FUNC)
    if not Schedule.objects.filter(name=NEW_NAME).exists():
        Schedule.objects.filter(name=OLD_NAME).update(name=NEW_NAME)


def restore_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.filter(func=NEW_FUNC).update(func=OLD_FUNC)
    if not Schedule.objects.filter(name=OLD_NAME).exists():
        Schedule.objects.filter(name=NEW_NAME).update(name=OLD_NAME)


class Migration(migrations.Migration):

    dependencies = [
        ("generations", "0020_token_expiry_scope"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        migrations.RenameModel(old_name="PollerSlot", new_name="EngineShard"),
        migrations.RenameField(model_name="engineshard", old_name="slot", new_name="shard"),
        migrations.RenameModel(old_name="PollerBeat", new_name="EngineBeat"),
        migrations.AddField(
            model_name="generation",
            name="next_check_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="generation",
            name="send_lease_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="generation",
            name="mirror_lease_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(split_next_poll, join_next_poll),
        migrations.RemoveIndex(model_name="generation", name="gen_status_poll"),
        migrations.RemoveField(model_name="generation", name="next_poll_at"),
        migrations.AddIndex(
            model_name="generation",
            index=models.Index(fields=["status", "next_check_at"], name="gen_status_check"),
        ),
        migrations.RunPython(rename_schedule, restore_schedule),
    ]
