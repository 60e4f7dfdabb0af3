"""Template context of the account pages: the site's sign-up mode (the log-in page words its offer by it)."""
from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from generations.services import accounts


def accounts_context(request: HttpRequest) -> dict[str, Any]:
    return {"generations_signup_mode": accounts.signup_mode()}
