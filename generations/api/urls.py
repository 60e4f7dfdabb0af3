"""REST API routes (mounted under api/v1/). A trailing slash is optional; unknown paths answer JSON 404."""
from django.urls import re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularSwaggerSplitView

from . import views
from .errors import not_found

app_name = "api"

# Any string is accepted as an id: a malformed one is simply not found (JSON 404, never HTML).
ID = r"(?P<pk>[^/]+)"


def route(pattern: str, view, name: str):
    """The canonical URL ends with a slash; the same path without it is served too (no redirect
    that would turn a POST into a GET) but left out of the OpenAPI description."""

    @csrf_exempt  # as DRF's own views are: SessionAuthentication enforces CSRF itself
    def without_slash(request, *args, **kwargs):
        return view(request, *args, **kwargs)

    return [re_path(rf"^{pattern}/$", view, name=name), re_path(rf"^{pattern}$", without_slash)]


ROUTES = [
    route("models", views.ModelListView.as_view(), "model-list"),
    route(r"models/(?P<model_id>[^/]+)", views.ModelDetailView.as_view(), "model-detail"),
    route("generations", views.GenerationListView.as_view(), "generation-list"),
    route("generations/quote", views.QuoteView.as_view(), "generation-quote"),
    route(f"generations/{ID}", views.GenerationDetailView.as_view(), "generation-detail"),
    route(f"generations/{ID}/cancel", views.CancelView.as_view(), "generation-cancel"),
    route(f"generations/{ID}/rerun", views.RerunView.as_view(), "generation-rerun"),
    route(f"generations/{ID}/video", views.VideoView.as_view(), "generation-video"),
    route(f"generations/{ID}/thumbnail", views.ThumbnailView.as_view(), "generation-thumbnail"),
    route(f"generations/{ID}/flag", views.FlagView.as_view(), "generation-flag"),
    route(f"generations/{ID}/moderate", views.ModerateView.as_view(), "generation-moderate"),
    route("quota", views.QuotaView.as_view(), "quota"),
    route("uploads", views.UploadView.as_view(), "upload"),
    route("teams", views.TeamListView.as_view(), "team-list"),
    route(r"teams/(?P<slug>[^/]+)", views.TeamDetailView.as_view(), "team-detail"),
    route(r"teams/(?P<slug>[^/]+)/members", views.TeamMembersView.as_view(), "team-members"),
    route(r"teams/(?P<slug>[^/]+)/members/(?P<username>[^/]+)", views.TeamMemberView.as_view(), "team-member"),
    route("webhooks", views.WebhookListView.as_view(), "webhook-list"),
    # Before webhooks/{ID}, which would take "submission-secret" for an (unknown) endpoint id.
    route("webhooks/submission-secret", views.SubmissionSecretView.as_view(), "webhook-submission-secret"),
    route(f"webhooks/{ID}", views.WebhookDetailView.as_view(), "webhook-detail"),
    route(f"webhooks/{ID}/rotate", views.WebhookRotateView.as_view(), "webhook-rotate"),
    route(f"webhooks/{ID}/deliveries", views.WebhookDeliveriesView.as_view(), "webhook-deliveries"),
    route(rf"webhooks/{ID}/deliveries/(?P<delivery_id>[^/]+)/resend", views.WebhookResendView.as_view(),
          "webhook-resend"),
    route("notifications", views.NotificationListView.as_view(), "notification-list"),
    route("notifications/read", views.NotificationReadView.as_view(), "notification-read"),
    route("notifications/preferences", views.NotificationPreferencesView.as_view(), "notification-preferences"),
    route("schema", views.SchemaView.as_view(), "schema"),
    # The split view serves its init script as a file (?script): no inline script for the CSP.
    route(
        "docs",
        SpectacularSwaggerSplitView.as_view(
            url_name="generations:api:schema", template_name="generations/api/swagger_ui.html"
        ),
        "docs",
    ),
    [re_path(r"^.*$", not_found, name="not-found")],
]
urlpatterns = [pattern for patterns in ROUTES for pattern in patterns]
