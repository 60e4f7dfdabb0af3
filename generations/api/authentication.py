"""API authentication: personal tokens in ``Authorization: Bearer <key>``, with their expiry and scope."""
from __future__ import annotations

from rest_framework import authentication, exceptions

from .. import request_context
from ..services.tokens import check_key
from . import throttles


class TokenScopeDenied(exceptions.PermissionDenied):
    default_detail = ("This API token is read-only: create a token with the “read and submit” scope "
                      "to change anything.")
    default_code = "token_scope"


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, key = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        wait = throttles.failed_token_wait(request)
        if wait is not None:  # refused before any lookup: guessing tokens costs the site nothing
            raise exceptions.Throttled(wait=wait, detail=f"Too many wrong API tokens from your address: "
                                                         f"try again in {int(wait)} seconds.")
        key = key.strip()
        if not key or " " in key:
            throttles.record_failed_token(request)
            raise exceptions.AuthenticationFailed("Malformed Authorization header: use 'Bearer <token>'.")
        token, refusal = check_key(key)
        if refusal == "expired":
            raise exceptions.AuthenticationFailed(
                "The API token has expired: create a new one on the API tokens page.", code="token_expired")
        if token is None:
            throttles.record_failed_token(request)
            raise exceptions.AuthenticationFailed("The API token is invalid or has been revoked.")
        request_context.set_user(token.user.pk)
        if not token.allows_method(request.method):
            # Checked here, once for every endpoint: the scope is about the method, not the view.
            raise TokenScopeDenied()
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword


try:
    from drf_spectacular.extensions import OpenApiAuthenticationExtension
except ImportError:  # pragma: no cover - drf-spectacular is a dependency, but keep auth importable without it
    OpenApiAuthenticationExtension = None  # type: ignore[misc,assignment]

if OpenApiAuthenticationExtension is not None:

    class BearerTokenScheme(OpenApiAuthenticationExtension):
        target_class = "generations.api.authentication.BearerTokenAuthentication"
        name = "personalToken"

        def get_security_definition(self, auto_schema):
            return {"type": "http", "scheme": "bearer", "description": "A personal API token (see the tokens page)."}
