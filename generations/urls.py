"""URLs of the generations app: its pages and, under api/v1/, the REST API. Mount anywhere."""
from django.urls import include, path

from . import views

app_name = "generations"

urlpatterns = [
    path("", views.gallery, name="gallery"),
    path("generations/new/", views.submit, name="submit"),
    path("generations/status/", views.generation_status, name="status"),
    path("generations/<uuid:pk>/", views.detail, name="detail"),
    path("generations/<uuid:pk>/delete/", views.delete, name="delete"),
    path("generations/<uuid:pk>/cancel/", views.cancel, name="cancel"),
    path("generations/<uuid:pk>/flag/", views.flag, name="flag"),
    path("usage/", views.usage, name="usage"),
    path("tokens/", views.api_tokens, name="tokens"),
    path("tokens/<int:token_id>/revoke/", views.revoke_token, name="token-revoke"),
    path("teams/", views.team_list, name="teams"),
    path("teams/<slug:slug>/", views.team_detail, name="team"),
    path("teams/<slug:slug>/members/", views.team_member_add, name="team-member-add"),
    path("teams/<slug:slug>/members/<int:membership_id>/role/", views.team_member_role, name="team-member-role"),
    path("teams/<slug:slug>/members/<int:membership_id>/remove/", views.team_member_remove,
         name="team-member-remove"),
    path("teams/<slug:slug>/invitations/", views.team_invite, name="team-invite"),
    path("teams/<slug:slug>/invitations/<int:invitation_id>/revoke/", views.team_invite_revoke,
         name="team-invite-revoke"),
    # After the team routes with fixed suffixes, so a team whose slug is "join" keeps all its pages.
    path("teams/join/<str:token>/", views.team_join, name="team-join"),
    path("switch-team/", views.switch_team, name="switch-team"),
    path("api/v1/", include("generations.api.urls")),
]
