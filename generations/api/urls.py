"""REST API routes (mounted under api/v1/). A trailing slash is optional; unknown paths answer JSON 404."""
from django.urls import re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularSwaggerSplitView

from . import account_views, base, generation_views, studio_views, team_views, webhook_views
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
    route("models", generation_views.ModelListView.as_view(), "model-list"),
    route(r"models/(?P<model_id>[^/]+)", generation_views.ModelDetailView.as_view(), "model-detail"),
    route("generations", generation_views.GenerationListView.as_view(), "generation-list"),
    route("generations/quote", generation_views.QuoteView.as_view(), "generation-quote"),
    # Before generations/{ID}, which would take "batch" for an (unknown) generation id.
    route("generations/batch", studio_views.BatchCreateView.as_view(), "batch-create"),
    route("generations/batch/quote", studio_views.BatchQuoteView.as_view(), "batch-quote"),
    route(f"generations/{ID}", generation_views.GenerationDetailView.as_view(), "generation-detail"),
    route(f"generations/{ID}/cancel", generation_views.CancelView.as_view(), "generation-cancel"),
    route(f"generations/{ID}/rerun", generation_views.RerunView.as_view(), "generation-rerun"),
    route(f"generations/{ID}/video", generation_views.VideoView.as_view(), "generation-video"),
    route(f"generations/{ID}/thumbnail", generation_views.ThumbnailView.as_view(), "generation-thumbnail"),
    route(f"generations/{ID}/flag", generation_views.FlagView.as_view(), "generation-flag"),
    route(f"generations/{ID}/moderate", generation_views.ModerateView.as_view(), "generation-moderate"),
    route(f"generations/{ID}/share", studio_views.ShareCreateView.as_view(), "generation-share"),
    route(f"generations/{ID}/frames", studio_views.FrameView.as_view(), "generation-frames"),
    route(f"batches/{ID}", studio_views.BatchDetailView.as_view(), "batch-detail"),
    route(f"batches/{ID}/cancel", studio_views.BatchCancelView.as_view(), "batch-cancel"),
    route(f"shares/{ID}", studio_views.ShareDetailView.as_view(), "share-detail"),
    route("collections", studio_views.CollectionListView.as_view(), "collection-list"),
    route(f"collections/{ID}", studio_views.CollectionDetailView.as_view(), "collection-detail"),
    route(f"collections/{ID}/items", studio_views.CollectionItemsView.as_view(), "collection-items"),
    route(rf"collections/{ID}/items/(?P<generation_id>[^/]+)", studio_views.CollectionItemView.as_view(),
          "collection-item"),
    route("quota", generation_views.QuotaView.as_view(), "quota"),
    route("uploads", generation_views.UploadView.as_view(), "upload"),
    route("teams", team_views.TeamListView.as_view(), "team-list"),
    route("invitations", team_views.InvitationListView.as_view(), "invitation-list"),
    route(r"invitations/(?P<invitation_id>[0-9]+)/accept", team_views.InvitationAnswerView.as_view(answer="accept"),
          "invitation-accept"),
    route(r"invitations/(?P<invitation_id>[0-9]+)/decline", team_views.InvitationAnswerView.as_view(answer="decline"),
          "invitation-decline"),
    route(r"teams/(?P<slug>[^/]+)", team_views.TeamDetailView.as_view(), "team-detail"),
    route(r"teams/(?P<slug>[^/]+)/members", team_views.TeamMembersView.as_view(), "team-members"),
    route(r"teams/(?P<slug>[^/]+)/members/(?P<username>[^/]+)", team_views.TeamMemberView.as_view(), "team-member"),
    route("webhooks", webhook_views.WebhookListView.as_view(), "webhook-list"),
    # Before webhooks/{ID}, which would take "submission-secret" for an (unknown) endpoint id.
    route("webhooks/submission-secret", webhook_views.SubmissionSecretView.as_view(), "webhook-submission-secret"),
    route(f"webhooks/{ID}", webhook_views.WebhookDetailView.as_view(), "webhook-detail"),
    route(f"webhooks/{ID}/rotate", webhook_views.WebhookRotateView.as_view(), "webhook-rotate"),
    route(f"webhooks/{ID}/deliveries", webhook_views.WebhookDeliveriesView.as_view(), "webhook-deliveries"),
    route(rf"webhooks/{ID}/deliveries/(?P<delivery_id>[^/]+)/resend", webhook_views.WebhookResendView.as_view(),
          "webhook-resend"),
    route("me", account_views.MeView.as_view(), "me"),
    route("me/export", account_views.MeExportListView.as_view(), "me-export-list"),
    route(f"me/export/{ID}", account_views.MeExportDetailView.as_view(), "me-export-detail"),
    route(f"me/export/{ID}/download", account_views.MeExportDownloadView.as_view(), "me-export-download"),
    route("notifications", account_views.NotificationListView.as_view(), "notification-list"),
    route("notifications/read", account_views.NotificationReadView.as_view(), "notification-read"),
    route("notifications/preferences", account_views.NotificationPreferencesView.as_view(), "notification-preferences"),
    route("schema", base.SchemaView.as_view(), "schema"),
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
