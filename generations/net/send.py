"""One request with a body (a pre-signed upload PUT, a webhook POST) under the download policy."""
from __future__ import annotations

from collections.abc import Sequence

from . import policy, transport
from .policy import Resolver

__all__ = ["send"]


def send(
    method: str,
    url: str,
    *,
    allowed_hosts: Sequence[str],
    body: bytes,
    headers: dict[str, str] | None = None,
    connect_timeout: float = 5,
    read_timeout: float = 30,
    deadline: float = 300,
    resolve: Resolver | None = None,
    ca_bundle: str | None = None,
    public_hosts: bool = False,
) -> tuple[int, bytes]:
    """Send one request with ``body`` to ``url`` under the policy of :func:`~generations.net.download.download`.

    The URL is checked before connecting and the connection goes to a checked address,
    exactly as for a download; a redirect is returned as its status, never followed
    (a body cannot be re-sent blindly to a place nobody checked). Returns the status and
    at most 2000 bytes of the answer. Raises :class:`DownloadRefused` (nothing was sent)
    or :class:`DownloadFailed` (network error, timeout). ``public_hosts``: see
    :func:`~generations.net.policy.check`.
    """
    target = policy.check(url, policy.normalize_entries(allowed_hosts), resolve, public_hosts=public_hosts)
    clock = transport.Deadline(deadline)
    try:
        with transport.exchange(
            target,
            deadline=clock,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            ca_bundle=ca_bundle,
            method=method,
            body=body,
            headers={"Content-Length": str(len(body)), **(headers or {})},
        ) as response:
            return response.status, response.read(2000)
    finally:
        clock.close()
