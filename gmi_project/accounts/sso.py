"""Single sign-on callback: allauth's OpenID Connect flow, with the ID token's signature always checked."""
from __future__ import annotations

from typing import Any

from allauth.account.internal.decorators import login_not_required
from allauth.socialaccount.internal import jwtkit
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from django.http import Http404, HttpRequest, HttpResponse


class SignatureCheckingAdapter(OpenIDConnectOAuth2Adapter):
    """allauth skips the signature of an ID token it fetched itself over TLS (OIDC Core §3.1.3.7 allows it);
    the portal checks it against the provider's published keys as well, together with the issuer, the
    audience and the expiry, so a token endpoint reached over plain http or through a proxy proves
    nothing it did not sign."""

    def _decode_id_token(self, app: SocialApp, id_token: str) -> dict[str, Any]:
        return jwtkit.verify_and_decode(
            credential=id_token,
            keys_url=self.openid_config["jwks_uri"],
            issuer=self.openid_config["issuer"],
            audience=app.client_id,
            lookup_kid=jwtkit.lookup_kid_jwk,
            verify_signature=True,
        )


@login_not_required
def callback(request: HttpRequest, provider_id: str) -> HttpResponse:
    try:
        view = OAuth2CallbackView.adapter_view(SignatureCheckingAdapter(request, provider_id))
        return view(request)
    except SocialApp.DoesNotExist:
        raise Http404 from None
