"""Probes for load balancers and orchestrators: /healthz (the process answers) and /readyz (it can work)."""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from health_check.views import HealthCheckView
from prometheus_client import CONTENT_TYPE_LATEST

from .. import permissions, telemetry
from ..health import READINESS_CHECKS
from ..selectors import operations as operation_reads


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 while the process serves requests; touches neither the database nor anything else."""
    return JsonResponse({"status": "ok"})


@contextlib.contextmanager
def _pool(size: int) -> Iterator[Executor]:
    # Not ``with ThreadPoolExecutor()``: its exit waits for every thread, so one hung
    # dependency would hang the probe after its own timeout had already answered.
    pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="readyz")
    try:
        yield pool
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


class ReadinessView(HealthCheckView):
    """Every check at once, each within its timeout; 503 naming each one that is down.

    The answer holds only each check's public name, status, sentence and time taken,
    never a library repr (those show hosts, ports and aliases).
    """

    checks = READINESS_CHECKS

    def get_executor(self) -> contextlib.AbstractContextManager[Executor | None]:
        return _pool(len(tuple(self.checks)))

    async def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        with self.get_executor() as executor:
            self.results = await asyncio.gather(*(check.get_result(executor) for check in self.get_checks()))
        down = [result for result in self.results if result.error]
        return self.render_to_response_json(503 if down else 200)

    def render_to_response_json(self, status: int) -> JsonResponse:
        checks = {}
        for result in self.results:
            error = result.error
            checks[getattr(result.check, "name", "") or type(result.check).__name__] = {
                "status": "down" if error else "ok",
                "detail": getattr(error, "message", "") if error else getattr(result.check, "detail", "ok"),
                "seconds": round(result.time_taken, 3),
            }
        failing = sorted(name for name, check in checks.items() if check["status"] == "down")
        return JsonResponse({"status": "unavailable" if failing else "ok", "failing": failing, "checks": checks},
                            status=status)


readyz = ReadinessView.as_view()


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text for a scraper holding ``GMI_METRICS_TOKEN``, or for staff.

    Without credentials the page does not exist (404); a wrong bearer token is told so (401).
    """
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if not permissions.metrics_token_matches(scheme, token.strip()):
            response = JsonResponse({"detail": "Invalid metrics token.", "code": "not_authenticated"}, status=401)
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    elif not permissions.can_view_operations(request.user):
        raise Http404
    return HttpResponse(telemetry.render(operation_reads.operations_figures()), content_type=CONTENT_TYPE_LATEST)
