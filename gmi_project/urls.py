"""URLs of the portal site: the probes, the admin, accounts (django-allauth and the security page) and the app."""
from allauth.account import views as account_views
from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path

from generations.views import operations
from gmi_project.accounts import sso

admin.site.site_header = "GMI Video Portal · staff"
admin.site.site_title = "GMI Video Portal staff"
admin.site.index_title = "Run the portal"
# The changelists get the page's whole width; the app list stays one click away on the index.
admin.site.enable_nav_sidebar = False

# The admin's own log-in form is replaced by allauth's: one log-in page, with its lock-out and
# its second-factor step, for members and staff alike.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]



def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    # Resolved per request: the static manifest may not exist yet when the URLs are imported
    # (migrate and check run before collectstatic).
    return HttpResponsePermanentRedirect(static("generations/favicon.svg"))


urlpatterns = [
    path("healthz", operations.healthz, name="healthz"),
    path("readyz", operations.readyz, name="readyz"),
    path("metrics", operations.metrics, name="metrics"),
    # Browsers ask for /favicon.ico on pages that name no icon (the API's JSON, files): answer, not 404.
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    path("accounts/", include("gmi_project.accounts.urls")),
    # Before allauth's own: the SSO callback that also checks the ID token's signature.
    path("accounts/oidc/<str:provider_id>/login/callback/", sso.callback, name="openid_connect_callback"),
    path("accounts/", include("allauth.urls")),
    # Django's conventional names for the same pages, which the app's templates and host-neutral
    # code look up (``login``, ``logout``, ``signup``, ``password_change``, ``password_reset``).
    path("accounts/login/", account_views.login, name="login"),
    path("accounts/logout/", account_views.logout, name="logout"),
    path("accounts/signup/", account_views.signup, name="signup"),
    path("accounts/password/change/", account_views.password_change, name="password_change"),
    path("accounts/password/reset/", account_views.password_reset, name="password_reset"),
    path("", include("generations.urls")),
]
