"""URLs of the generations app: its pages and, under api/v1/, the REST API. Mount anywhere."""
from django.urls import include, path

from .views import gallery, generation, notifications, submit, teams, tokens, usage, webhooks

app_name = "generations"

urlpatterns = [
    path("", gallery.gallery, name="gallery"),
    path("generations/new/", submit.submit, name="submit"),
    path("generations/status/", generation.generation_status, name="status"),
    path("generations/<uuid:pk>/", generation.detail, name="detail"),
    path("generations/<uuid:pk>/edit/", generation.update, name="update"),
    path("generations/<uuid:pk>/delete/", generation.delete, name="delete"),
    path("generations/<uuid:pk>/cancel/", generation.cancel, name="cancel"),
    path("generations/<uuid:pk>/flag/", generation.flag, name="flag"),
    path("usage/", usage.usage, name="usage"),
    path("tokens/", tokens.api_tokens, name="tokens"),
    path("tokens/<int:token_id>/revoke/", tokens.revoke_token, name="token-revoke"),
    path("webhooks/", webhooks.webhook_list, name="webhooks"),
    path("webhooks/submission-secret/", webhooks.submission_secret_rotate, name="webhook-submission-secret"),
    path("webhooks/<uuid:pk>/", webhooks.webhook_detail, name="webhook"),
    path("webhooks/<uuid:pk>/rotate/", webhooks.webhook_rotate, name="webhook-rotate"),
    path("webhooks/<uuid:pk>/enabled/", webhooks.webhook_enabled, name="webhook-enabled"),
    path("webhooks/<uuid:pk>/delete/", webhooks.webhook_delete, name="webhook-delete"),
    path("webhooks/<uuid:pk>/deliveries/<uuid:delivery_id>/resend/", webhooks.webhook_resend, name="webhook-resend"),
    path("teams/", teams.team_list, name="teams"),
    path("teams/<slug:slug>/", teams.team_detail, name="team"),
    path("teams/<slug:slug>/members/", teams.team_member_add, name="team-member-add"),
    path("teams/<slug:slug>/members/<int:membership_id>/role/", teams.team_member_role, name="team-member-role"),
    path("teams/<slug:slug>/members/<int:membership_id>/remove/", teams.team_member_remove,
         name="team-member-remove"),
    path("teams/<slug:slug>/invitations/", teams.team_invite, name="team-invite"),
    path("teams/<slug:slug>/invitations/<int:invitation_id>/revoke/", teams.team_invite_revoke,
         name="team-invite-revoke"),
    # After the team routes with fixed suffixes, so a team whose slug is "join" keeps all its pages.
    path("teams/join/<str:token>/", teams.team_join, name="team-join"),
    path("switch-team/", teams.switch_team, name="switch-team"),
    path("notifications/", notifications.notification_list, name="notifications"),
    path("notifications/read/", notifications.notification_read, name="notifications-read"),
    path("notifications/settings/", notifications.notification_preferences, name="notification-preferences"),
    path("notifications/<int:pk>/", notifications.notification_open, name="notification-open"),
    path("notifications/unsubscribe/<str:token>/", notifications.notification_unsubscribe,
         name="notification-unsubscribe"),
    path("api/v1/", include("generations.api.urls")),
]
