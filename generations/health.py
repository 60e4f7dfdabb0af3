"""The checks behind /readyz, as django-health-check plugins, each named and bounded by a timeout.

Only the names and public sentences of these checks reach the answer: django-health-check's
own reprs would show a Redis host or a database alias, so ``views/operations`` never prints them.
"""
from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable

from django import db
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import OrmQ
from health_check import checks as library
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable

from .conf import app_settings
from .services import readiness


def _timeout() -> datetime.timedelta:
    return datetime.timedelta(seconds=float(app_settings.HEALTH_TIMEOUT))


class _Named:
    """A check with a public name and a sentence for the answer when it passes."""

    name = ""
    detail = "ok"


class _ClosesConnections:
    """Sync checks run on a pool thread: close its database connections so probes never pile them up."""

    def _closing(self, probe: Callable[[], str | None]) -> str | None:
        try:
            return probe()
        finally:
            db.connections.close_all()


@dataclasses.dataclass
class DatabaseCheck(_Named, _ClosesConnections, library.Database):
    name = "database"

    def __post_init__(self) -> None:
        self.timeout = _timeout()

    def run(self) -> None:
        try:
            self._closing(super().run)
        except ServiceUnavailable as exc:  # the driver's text may name the server
            raise ServiceUnavailable("database unreachable") from exc


@dataclasses.dataclass
class StorageCheck(_Named, library.Storage):
    """The mirrored files' storage alias takes a write, a read and a delete."""

    name = "storage"
    alias: str = dataclasses.field(default_factory=lambda: str(app_settings.STORAGE_ALIAS))

    def __post_init__(self) -> None:
        self.timeout = _timeout()

    def get_file_name(self) -> str:
        return f"health-check/{super().get_file_name().rsplit('/', 1)[-1]}"

    def run(self) -> None:
        try:
            super().run()
        except ServiceUnavailable:
            raise
        except Exception as exc:  # a storage SDK's own errors name buckets and paths: say only what failed
            raise ServiceUnavailable(f"storage refused a write ({type(exc).__name__})") from exc


@dataclasses.dataclass
class BrokerCheck(_Named, _ClosesConnections, HealthCheck):
    """django-q2's broker takes work: Redis answers a ping; the ORM broker's queue table can be read."""

    name = "broker"

    def __post_init__(self) -> None:
        self.timeout = _timeout()

    def run(self) -> None:
        self._closing(self._probe)

    def _probe(self) -> None:
        try:
            if Conf.ORM:
                OrmQ.objects.using(Conf.ORM).exists()
                self.detail = "orm broker"
            else:
                get_broker().ping()
                self.detail = "redis broker"
        except Exception as exc:  # the client's message names the host and port
            raise ServiceUnavailable(f"broker unreachable ({type(exc).__name__})") from exc


@dataclasses.dataclass
class _ServiceCheck(_Named, _ClosesConnections, HealthCheck):
    """A probe of ``services.readiness``: its sentence on success, ServiceUnavailable on NotReady."""

    def __post_init__(self) -> None:
        self.timeout = _timeout()

    def probe(self) -> str:
        raise NotImplementedError

    def run(self) -> None:
        self._closing(self._probe)

    def _probe(self) -> None:
        try:
            self.detail = self.probe()
        except readiness.NotReady as exc:
            raise ServiceUnavailable(str(exc)) from exc
        except db.Error as exc:
            raise ServiceUnavailable(f"cannot read its state ({type(exc).__name__})") from exc


@dataclasses.dataclass
class EngineCheck(_ServiceCheck):
    name = "engine"

    def probe(self) -> str:
        return readiness.engine_heartbeat()


@dataclasses.dataclass
class CatalogueCheck(_ServiceCheck):
    name = "catalogue"

    def probe(self) -> str:
        return readiness.catalogue_fresh()


@dataclasses.dataclass
class GMICheck(_ServiceCheck):
    name = "gmi"

    def probe(self) -> str:
        return readiness.gmi_reachable()


READINESS_CHECKS: tuple[type[HealthCheck], ...] = (
    DatabaseCheck,
    BrokerCheck,
    StorageCheck,
    EngineCheck,
    CatalogueCheck,
    GMICheck,
)
