"""Webhooks, signed as Standard Webhooks: one module per job.

``recording`` writes the deliveries after a lifecycle or quota event (rows only, never a
send); ``delivery`` claims them in fair turns per owner, sends, retries and disables;
``endpoints`` holds what a member does to their endpoints and submission webhooks;
``signing`` the secrets and signatures. The reads (a member's endpoints, a delivery log)
are in ``selectors.webhooks``.
"""
from __future__ import annotations

from ...models import WebhookDelivery

#: A delivery still to send: the per-owner and per-target caps count these.
WAITING = (WebhookDelivery.Status.PENDING, WebhookDelivery.Status.FAILED)
#: What a refused target is told, at registration and at each send, whatever the reason:
#: it never says what a name resolves to.
TARGET_REFUSED = ("not a public http(s) address that can be reached "
                  "(private networks and names that do not resolve are refused alike)")
