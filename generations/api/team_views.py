"""REST API views of teams, their members and invitations."""
from __future__ import annotations

from django.db.models import Prefetch
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from ..models import Membership, Team
from ..selectors import teams as team_reads
from ..services import teams
from . import serializers as s
from .base import ERRORS, WRITE_ERRORS, ApiView


def _teams_for(user):
    return team_reads.teams_of(user).prefetch_related(
        Prefetch("memberships", queryset=Membership.objects.select_related("user"))
    )


class TeamListView(ApiView):
    throttle_scopes = {"GET": "list"}

    @extend_schema(responses={200: s.TeamSerializer(many=True), **ERRORS}, tags=["teams"])
    def get(self, request):
        return Response(s.TeamSerializer(_teams_for(request.user), many=True, context={"request": request}).data)

    @extend_schema(request=s.TeamInputSerializer, responses={201: s.TeamSerializer, **WRITE_ERRORS}, tags=["teams"])
    def post(self, request):
        values = self.valid_input(s.TeamInputSerializer)
        team = teams.create_team(user=request.user, name=values["name"])
        team = _teams_for(request.user).get(pk=team.pk)
        return Response(s.TeamSerializer(team, context={"request": request}).data, status=201)


class TeamMixin:
    def my_team(self, slug: str) -> Team:
        request: Request = self.request  # type: ignore[attr-defined]  # mixed into an APIView
        team = _teams_for(request.user).filter(slug=slug).first()
        if team is None:
            raise Http404
        return team


class TeamDetailView(TeamMixin, ApiView):
    @extend_schema(responses={200: s.TeamSerializer, **ERRORS}, tags=["teams"])
    def get(self, request, slug):
        team = self.my_team(slug)
        teams.open_team(user=request.user, team=team)  # reading the team is opening it, as on its page
        return Response(s.TeamSerializer(team, context={"request": request}).data)


class TeamMembersView(TeamMixin, ApiView):
    @extend_schema(
        request=s.MemberInputSerializer,
        responses={200: OpenApiResponse(s.MemberSerializer, description="A current member's role was changed."),
                   202: OpenApiResponse(s.MemberInvitedSerializer,
                                        description="Invitation recorded (the same answer whether or not the "
                                                    "account exists); they join only by accepting it."),
                   **WRITE_ERRORS},
        tags=["teams"])
    def post(self, request, slug):
        team = self.my_team(slug)
        values = self.valid_input(s.MemberInputSerializer)
        username, role = values["username"], values["role"]
        result = teams.add_member(team=team, actor=request.user, username=username, role=role)
        if isinstance(result, Membership):
            return Response(s.MemberSerializer(result).data, status=200)
        return Response(s.MemberInvitedSerializer({
            "username": username.strip(), "role": role, "status": "invited",
            "detail": "If this account exists, it is invited and joins the team only by accepting.",
        }).data, status=202)


class InvitationListView(ApiView):
    @extend_schema(responses={200: s.InvitationSerializer(many=True), **ERRORS}, tags=["teams"])
    def get(self, request):
        """Open invitations addressed to you."""
        return Response(s.InvitationSerializer(team_reads.invitations_for(request.user), many=True).data)


class InvitationAnswerView(ApiView):
    answer = "accept"

    @extend_schema(request=None, responses={200: s.TeamSerializer, 204: None, **WRITE_ERRORS}, tags=["teams"])
    def post(self, request, invitation_id):
        """Accept (200 with the team) or decline (204) an invitation addressed to you."""
        if self.answer == "decline":
            teams.decline_invitation(invitation_id=invitation_id, user=request.user)
            return Response(status=204)
        membership = teams.accept_named_invitation(invitation_id=invitation_id, user=request.user)
        team = _teams_for(request.user).get(pk=membership.team_id)
        return Response(s.TeamSerializer(team, context={"request": request}).data)


class TeamMemberView(TeamMixin, ApiView):
    @extend_schema(responses={204: None, **WRITE_ERRORS}, tags=["teams"])
    def delete(self, request, slug, username):
        team = self.my_team(slug)
        teams.remove_member(team=team, actor=request.user, username=username)
        return Response(status=204)
