"""App configuration: registers system checks and the worker start-up hook."""
from django.apps import AppConfig


class GenerationsConfig(AppConfig):
    name = "generations"
    verbose_name = "Video generations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth import signals as auth_signals
        from django_q.signals import post_spawn

        # Imported once the app registry is ready: checks register on import, and tasks load models.
        from . import checks  # noqa: F401
        from .services import audit
        from .tasks import on_worker_spawn

        # A worker that starts hosts an engine standby at once (not at the next schedule).
        post_spawn.connect(on_worker_spawn, dispatch_uid="generations.engine_on_spawn")
        # Sign-ins into the audit trail. Django's signals, which django-allauth and any other
        # log-in view send too, so the record does not depend on which views the site uses.
        auth_signals.user_logged_in.connect(audit.on_user_logged_in, dispatch_uid="generations.audit_login")
        auth_signals.user_logged_out.connect(audit.on_user_logged_out, dispatch_uid="generations.audit_logout")
        auth_signals.user_login_failed.connect(audit.on_user_login_failed, dispatch_uid="generations.audit_failed")
