"""Retention and storage quota fields, the files-expiring notification, member data exports, and their schedules."""

import django.db.models.deletion
import django.utils.timezone
import uuid
from django.conf import settings
from django.db import migrations, models


SCHEDULES = [
    # name, func, schedule_type
    ("gmi-retention", "generations.tasks.apply_retention", "D"),
    ("gmi-expire-exports", "generations.tasks.expire_exports", "H"),
]


def create_schedules(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for name, func, schedule_type in SCHEDULES:
        Schedule.objects.update_or_create(
            name=name, defaults={"func": func, "schedule_type": schedule_type, "repeats": -1},
        )


def remove_schedules(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name__in=[s[0] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('generations', '0017_studio'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='generation',
            name='files_removed_at',
            field=models.DateTimeField(blank=True, help_text='When retention deleted the files.', null=True),
        ),
        migrations.AddField(
            model_name='generation',
            name='files_retention_days',
            field=models.PositiveSmallIntegerField(blank=True, help_text='The retention that removed them, in days.', null=True),
        ),
        migrations.AddField(
            model_name='generation',
            name='retention_warned_at',
            field=models.DateTimeField(blank=True, help_text='When the owner was told the files would go.', null=True),
        ),
        migrations.AddField(
            model_name='team',
            name='retention_days',
            field=models.PositiveSmallIntegerField(blank=True, help_text="Delete the files of the team's videos this many days after they finish (fewer than the site's GMI_RETENTION_DAYS only; kept videos stay). Empty: the site's setting.", null=True),
        ),
        migrations.AddField(
            model_name='team',
            name='storage_bytes',
            field=models.PositiveBigIntegerField(blank=True, help_text="Bytes of mirrored files the team's videos may hold (empty: the site default).", null=True),
        ),
        migrations.AddField(
            model_name='userprofile',
            name='storage_bytes',
            field=models.PositiveBigIntegerField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='notification',
            name='kind',
            field=models.CharField(choices=[('generation_succeeded', 'Video ready'), ('generation_failed', 'Job failed'), ('generation_removed', 'Video removed by moderation'), ('quota_threshold', 'Quota alert'), ('webhook_disabled', 'Webhook disabled'), ('daily_summary', 'Daily summary (staff)'), ('files_expiring', 'Files to be removed')], max_length=40),
        ),
        migrations.AlterField(
            model_name='notificationpreference',
            name='kind',
            field=models.CharField(choices=[('generation_succeeded', 'Video ready'), ('generation_failed', 'Job failed'), ('generation_removed', 'Video removed by moderation'), ('quota_threshold', 'Quota alert'), ('webhook_disabled', 'Webhook disabled'), ('daily_summary', 'Daily summary (staff)'), ('files_expiring', 'Files to be removed')], max_length=40),
        ),
        migrations.CreateModel(
            name='DataExport',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('status', models.CharField(choices=[('pending', 'Being built'), ('ready', 'Ready to download'), ('failed', 'Failed'), ('expired', 'Expired')], default='pending', max_length=10)),
                ('file_name', models.CharField(blank=True, help_text='The zip in the generations storage.', max_length=300)),
                ('size', models.BigIntegerField(blank=True, null=True)),
                ('error', models.CharField(blank=True, max_length=300)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('started_at', models.DateTimeField(blank=True, null=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('expires_at', models.DateTimeField(blank=True, null=True)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='gmi_exports', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-created_at'],
            },
        ),
        migrations.RunPython(create_schedules, remove_schedules),
    ]
