"""App configuration: registers system checks and the worker start-up hook."""
from django.apps import AppConfig


class GenerationsConfig(AppConfig):
    name = "generations"
    verbose_name = "Video generations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django_q.signals import post_spawn

        # Imported once the app registry is ready: checks register on import, and tasks load models.
        from . import checks  # noqa: F401
        from .tasks import on_worker_spawn

        # The one receiver the app connects: worker start-up revives pollers.
        post_spawn.connect(on_worker_spawn, dispatch_uid="generations.poller_on_spawn")
