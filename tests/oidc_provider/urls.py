"""URLs of the test OpenID Connect provider: DOT under /o/, and a log-in form the test's "browser" posts to."""
from django.contrib.auth import authenticate, login
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.oauth2_validators import OAuth2Validator


class ClaimsValidator(OAuth2Validator):
    """Puts the e-mail address (said to be verified, as a company directory would) and the username in the
    ID token and the userinfo answer."""

    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope, "email_verified": "email",
                        "preferred_username": "profile"}

    def get_additional_claims(self, request):
        user = request.user
        return {"email": user.email, "email_verified": True, "preferred_username": user.username,
                "name": user.get_full_name() or user.username}


@csrf_exempt
def login_view(request: HttpRequest) -> HttpResponse:
    user = authenticate(request, username=request.POST.get("username"), password=request.POST.get("password"))
    if user is None:
        return HttpResponse("bad credentials", status=401)
    login(request, user)
    return HttpResponse("logged in")


urlpatterns = [
    path("login/", login_view),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
]
