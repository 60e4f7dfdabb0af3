"""REST API views: parse input, call one service or selector, serialize."""
from __future__ import annotations

import uuid

from django.db.models import Prefetch
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import permissions, selectors
from ..exceptions import InvalidInput
from ..models import Generation, Membership, Team
from ..services import moderation, notifications, ownership, quotas, submissions, teams, uploads, webhooks
from ..services.waiting_line import queue_positions
from ..serving import serve_file
from . import serializers as s
from .authentication import BearerTokenAuthentication
from .errors import api_exception_handler
from .parsers import SafeJSONParser

ERRORS = {
    400: OpenApiResponse(s.ErrorSerializer, description="Invalid input (see `errors`)."),
    401: OpenApiResponse(s.ErrorSerializer, description="Not authenticated."),
    404: OpenApiResponse(s.ErrorSerializer, description="Not found (or not yours)."),
}
WRITE_ERRORS = {
    **ERRORS,
    403: OpenApiResponse(s.ErrorSerializer, description="Not allowed (e.g. account awaiting approval)."),
    409: OpenApiResponse(s.ErrorSerializer, description="The object's state does not allow this."),
    413: OpenApiResponse(s.ErrorSerializer, description="Request body too large."),
    422: OpenApiResponse(s.ErrorSerializer, description="Idempotency-Key reused with another body."),
    429: OpenApiResponse(s.ErrorSerializer, description="Quota exceeded (`limit`, `resets_at`)."),
}


class AsciiJSONRenderer(JSONRenderer):
    # \u-escapes any character, so even text that slipped past the parser renders.
    ensure_ascii = True


class ApiView(APIView):
    """Settings of the app's API, independent of the host site's REST_FRAMEWORK."""

    authentication_classes = [BearerTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]
    renderer_classes = [AsciiJSONRenderer]
    parser_classes = [SafeJSONParser, FormParser, MultiPartParser]

    def get_exception_handler(self):
        return api_exception_handler

    def visible_generation(self, pk, *, staff_sees_all: bool = True) -> Generation:
        generation = selectors.get_visible_generation(self.request.user, pk, staff_sees_all=staff_sees_all)
        if generation is None:
            raise Http404
        return generation


class Pagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class ModelListView(ApiView):
    @extend_schema(responses={200: s.VideoModelSerializer(many=True), **ERRORS}, tags=["models"])
    def get(self, request):
        return Response(s.VideoModelSerializer(selectors.enabled_models(), many=True).data)


class ModelDetailView(ApiView):
    @extend_schema(responses={200: s.VideoModelSerializer, **ERRORS}, tags=["models"])
    def get(self, request, model_id: str):
        model = selectors.enabled_models().filter(pk=model_id).first()
        if model is None:
            raise Http404
        return Response(s.VideoModelSerializer(model).data)


class GenerationListView(ApiView):
    pagination_class = Pagination

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, description="Comma-separated statuses."),
            OpenApiParameter("model", str),
            OpenApiParameter("team", str, description="Team slug."),
            OpenApiParameter("q", str, description="Search in prompts."),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses={200: s.GenerationSerializer(many=True), **ERRORS},
        tags=["generations"],
    )
    def get(self, request):
        qs = selectors.filter_generations(
            teams.hide_unopened_teams(selectors.visible_generations(request.user), user=request.user),
            status=request.query_params.get("status", ""), model=request.query_params.get("model", ""),
            q=request.query_params.get("q", ""), team=request.query_params.get("team", ""),
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        context = {"request": request, "queue_positions": queue_positions(page)}
        return paginator.get_paginated_response(s.GenerationSerializer(page, many=True, context=context).data)

    @extend_schema(
        request=s.GenerationInputSerializer,
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER,
                                     description="Retrying with the same key returns the first generation.")],
        responses={201: s.GenerationSerializer, **WRITE_ERRORS},
        tags=["generations"],
    )
    def post(self, request):
        data = s.GenerationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        key = request.headers.get("Idempotency-Key") or None
        generation = submissions.submit_generation(
            user=request.user, model_id=values["model"], payload=values["payload"],
            team=values.get("team") or None, visibility=values.get("visibility") or None,
            idempotency_key=key, webhook=values.get("webhook") or None,
            webhook_events_filter=values.get("webhook_events_filter") or None,
        )
        return Response(s.GenerationSerializer(generation, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)


class QuoteView(ApiView):
    @extend_schema(request=s.GenerationInputSerializer, responses={200: s.QuoteSerializer, **WRITE_ERRORS},
                   tags=["generations"])
    def post(self, request):
        data = s.GenerationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        result = submissions.quote_generation(user=request.user, model_id=values["model"],
                                              payload=values["payload"], team=values.get("team") or None)
        return Response(result)


class GenerationDetailView(ApiView):
    @extend_schema(responses={200: s.GenerationSerializer, **ERRORS}, tags=["generations"])
    def get(self, request, pk):
        generation = self.visible_generation(pk)
        return Response(s.GenerationSerializer(generation, context={"request": request}).data)

    @extend_schema(
        request=s.GenerationUpdateSerializer, responses={200: s.GenerationSerializer, **WRITE_ERRORS},
        tags=["generations"],
        description="The owner renames, stars, keeps, or moves the generation between private and one of their "
                    "teams. Only the fields sent change. Anyone else gets 404, as for a generation that does not "
                    "exist; a team the owner is not in is refused (400, `errors.team`).",
    )
    def patch(self, request, pk):
        generation = self.visible_generation(pk, staff_sees_all=False)
        data = s.GenerationUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        generation = ownership.update_generation(generation=generation, user=request.user, **data.validated_data)
        return Response(s.GenerationSerializer(generation, context={"request": request}).data)

    @extend_schema(responses={204: None, **WRITE_ERRORS}, tags=["generations"])
    def delete(self, request, pk):
        generation = self.visible_generation(pk, staff_sees_all=False)
        if not selectors.may_delete(request.user, generation):
            raise Http404
        submissions.delete_generation(generation=generation, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CancelView(ApiView):
    @extend_schema(request=None, responses={200: s.GenerationSerializer, **WRITE_ERRORS},
                   tags=["generations"])
    def post(self, request, pk):
        generation = self.visible_generation(pk)
        if not selectors.may_cancel(request.user, generation):
            raise Http404
        submissions.cancel_generation(generation=generation, actor=request.user)
        return Response(s.GenerationSerializer(generation, context={"request": request}).data)


class RerunView(ApiView):
    @extend_schema(request=None, responses={201: s.GenerationSerializer, **WRITE_ERRORS},
                   tags=["generations"])
    def post(self, request, pk):
        generation = self.visible_generation(pk, staff_sees_all=False)
        key = request.headers.get("Idempotency-Key") or None
        new = submissions.rerun_generation(generation=generation, user=request.user, idempotency_key=key)
        return Response(s.GenerationSerializer(new, context={"request": request}).data, status=201)


class FileView(ApiView):
    kind = "video"

    @extend_schema(responses={(200, "video/mp4"): OpenApiResponse(OpenApiTypes.BINARY, description="The bytes."),
                              (200, "image/jpeg"): OpenApiResponse(OpenApiTypes.BINARY, description="The bytes."),
                              (206, "video/mp4"): OpenApiResponse(OpenApiTypes.BINARY, description="A byte range."),
                              416: OpenApiResponse(s.ErrorSerializer, description="Range not satisfiable."),
                              302: OpenApiResponse(description="Redirect to a signed storage URL."),
                              **ERRORS},
                   parameters=[OpenApiParameter("download", bool)], tags=["generations"])
    def get(self, request, pk):
        generation = self.visible_generation(pk)
        if not selectors.shows_files(request.user, generation):
            raise Http404
        name = generation.video_name if self.kind == "video" else generation.thumbnail_name
        content_type = generation.video_content_type if self.kind == "video" else generation.thumbnail_content_type
        extension = name.rsplit(".", 1)[-1] if "." in name else "bin"
        return serve_file(request, name=name, content_type=content_type or "application/octet-stream",
                          filename=f"{generation.model_id}-{generation.pk}.{extension}",
                          attachment=request.query_params.get("download") in ("1", "true"))


class VideoView(FileView):
    kind = "video"


class ThumbnailView(FileView):
    kind = "thumbnail"


class QuotaView(ApiView):
    @extend_schema(responses={200: s.UsageSerializer, **ERRORS}, tags=["quota"])
    def get(self, request):
        return Response(quotas.usage_for_user(request.user))


class UploadView(ApiView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": s.UploadInputSerializer},
                   responses={201: s.UploadSerializer, 502: s.ErrorSerializer, **WRITE_ERRORS}, tags=["uploads"])
    def post(self, request):
        data = s.UploadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = uploads.upload_reference(user=request.user, uploaded_file=data.validated_data["file"])
        return Response(s.UploadSerializer(upload).data, status=status.HTTP_201_CREATED)


def _teams_for(user):
    return selectors.teams_of(user).prefetch_related(
        Prefetch("memberships", queryset=Membership.objects.select_related("user"))
    )


class TeamListView(ApiView):
    @extend_schema(responses={200: s.TeamSerializer(many=True), **ERRORS}, tags=["teams"])
    def get(self, request):
        return Response(s.TeamSerializer(_teams_for(request.user), many=True, context={"request": request}).data)

    @extend_schema(request=s.TeamInputSerializer, responses={201: s.TeamSerializer, **WRITE_ERRORS}, tags=["teams"])
    def post(self, request):
        data = s.TeamInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        team = teams.create_team(user=request.user, name=data.validated_data["name"])
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
    @extend_schema(request=s.MemberInputSerializer, responses={201: s.MemberSerializer, **WRITE_ERRORS}, tags=["teams"])
    def post(self, request, slug):
        team = self.my_team(slug)
        data = s.MemberInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = teams.add_member(team=team, actor=request.user, username=data.validated_data["username"],
                                      role=data.validated_data["role"])
        return Response(s.MemberSerializer(membership).data, status=201)


class TeamMemberView(TeamMixin, ApiView):
    @extend_schema(responses={204: None, **WRITE_ERRORS}, tags=["teams"])
    def delete(self, request, slug, username):
        team = self.my_team(slug)
        teams.remove_member(team=team, actor=request.user, username=username)
        return Response(status=204)


class FlagView(ApiView):
    @extend_schema(request=s.FlagInputSerializer, responses={201: s.FlagSerializer, **WRITE_ERRORS},
                   tags=["moderation"])
    def post(self, request, pk):
        generation = self.visible_generation(pk)
        data = s.FlagInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        flag = moderation.flag_generation(generation=generation, user=request.user,
                                          reason=data.validated_data["reason"])
        return Response({"id": flag.pk, "generation": str(generation.pk), "reason": flag.reason,
                         "created_at": flag.created_at}, status=201)


class ModerateView(ApiView):
    @extend_schema(request=s.ModerateInputSerializer, responses={200: s.GenerationSerializer, **WRITE_ERRORS},
                   tags=["moderation"])
    def post(self, request, pk):
        if not permissions.can_moderate_generations(request.user):
            raise Http404  # the endpoint's existence is not disclosed to those who may not moderate
        generation = self.visible_generation(pk)
        data = s.ModerateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        moderation.moderate_generation(generation=generation, moderator=request.user,
                                       decision=data.validated_data["decision"],
                                       reason=data.validated_data["reason"])
        generation.refresh_from_db()
        return Response(s.GenerationSerializer(generation, context={"request": request}).data)


class WebhookListView(ApiView):
    @extend_schema(responses={200: s.WebhookEndpointSerializer(many=True), **ERRORS}, tags=["webhooks"])
    def get(self, request):
        return Response(s.WebhookEndpointSerializer(webhooks.endpoints_of(request.user), many=True).data)

    @extend_schema(request=s.WebhookInputSerializer, responses={201: s.WebhookCreatedSerializer, **WRITE_ERRORS},
                   tags=["webhooks"], description="The answer carries `secret`, which is never shown again; a "
                   "private or loopback target answers 400 `webhook_target_forbidden`.")
    def post(self, request):
        data = s.WebhookInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        endpoint = webhooks.create_endpoint(user=request.user, url=values["url"], events=values["events"],
                                            team=values.get("team") or None)
        return Response(s.WebhookCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED)


class SubmissionSecretView(ApiView):
    """The secret that signs messages to a submission's own ``webhook`` URL (one per account)."""

    @extend_schema(responses={200: s.SubmissionSecretStateSerializer, **ERRORS}, tags=["webhooks"],
                   description="Whether the account has a per-submission secret; the secret itself is only "
                   "in the answer of the POST that makes it.")
    def get(self, request):
        return Response({"exists": webhooks.has_submission_secret(request.user)})

    @extend_schema(request=None, responses={200: s.SubmissionSecretSerializer, **ERRORS}, tags=["webhooks"],
                   description="A new per-submission secret, in this answer only. It replaces the previous one "
                   "at once (no overlap): later messages, retries included, are signed with it alone.")
    def post(self, request):
        return Response({"secret": webhooks.rotate_submission_secret(user=request.user)})


class WebhookView(ApiView):
    def endpoint(self, pk):
        endpoint = webhooks.endpoints_of(self.request.user).filter(pk=_uuid_or_none(pk)).first()
        if endpoint is None:
            raise Http404
        return endpoint


def _uuid_or_none(value: str) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


class WebhookDetailView(WebhookView):
    @extend_schema(responses={204: None, **ERRORS}, tags=["webhooks"])
    def delete(self, request, pk):
        webhooks.delete_endpoint(endpoint=self.endpoint(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookRotateView(WebhookView):
    @extend_schema(request=None, responses={200: s.WebhookCreatedSerializer, **ERRORS}, tags=["webhooks"],
                   description="A new secret (in this answer only); the old one stays valid for 24 hours.")
    def post(self, request, pk):
        endpoint = webhooks.rotate_secret(endpoint=self.endpoint(pk))
        return Response(s.WebhookCreatedSerializer(endpoint).data)


class WebhookDeliveriesView(WebhookView):
    pagination_class = Pagination

    @extend_schema(parameters=[OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
                   responses={200: s.WebhookDeliverySerializer(many=True), **ERRORS}, tags=["webhooks"])
    def get(self, request, pk):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(webhooks.deliveries_of(self.endpoint(pk)), request, view=self)
        return paginator.get_paginated_response(s.WebhookDeliverySerializer(page, many=True).data)


class WebhookResendView(WebhookView):
    @extend_schema(request=None, responses={202: s.WebhookDeliverySerializer, **WRITE_ERRORS}, tags=["webhooks"],
                   description="Send the message again soon, with the same `webhook-id`.")
    def post(self, request, pk, delivery_id):
        delivery = webhooks.deliveries_of(self.endpoint(pk)).filter(pk=_uuid_or_none(delivery_id)).first()
        if delivery is None:
            raise Http404
        webhooks.resend_delivery(delivery=delivery)
        return Response(s.WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class NotificationListView(ApiView):
    pagination_class = Pagination

    @extend_schema(
        parameters=[OpenApiParameter("unread", bool, description="Only unread ones."),
                    OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses={200: s.NotificationListSerializer, **ERRORS}, tags=["notifications"],
        description="Your notifications, newest first, with your `unread` count.",
    )
    def get(self, request):
        unread_only = request.query_params.get("unread") in ("1", "true", "yes")
        qs = selectors.notifications_of(request.user, unread_only=unread_only).select_related("team")
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        results = s.NotificationSerializer(page, many=True, context={"request": request}).data
        return Response({
            "count": paginator.page.paginator.count,
            "unread": selectors.unread_notification_count(request.user),
            "next": paginator.get_next_link(), "previous": paginator.get_previous_link(), "results": results,
        })


class NotificationReadView(ApiView):
    @extend_schema(request=s.NotificationReadInputSerializer, responses={200: s.NotificationReadSerializer, **ERRORS},
                   tags=["notifications"],
                   description="Mark the notifications of `ids` read (ids that are not yours are ignored), or all.")
    def post(self, request):
        data = s.NotificationReadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        marked = notifications.mark_read(user=request.user, ids=data.validated_data.get("ids"))
        return Response({"marked": marked, "unread": selectors.unread_notification_count(request.user)})


class NotificationPreferencesView(ApiView):
    @extend_schema(responses={200: s.NotificationPreferenceSerializer(many=True), **ERRORS}, tags=["notifications"])
    def get(self, request):
        return Response(s.NotificationPreferenceSerializer(notifications.preferences_of(request.user), many=True).data)

    @extend_schema(request={"application/json": {"type": "object", "additionalProperties": {
                       "type": "object", "properties": {"channel": {"enum": ["off", "in_app", "email"]},
                                                        "digest": {"type": "boolean"}}}}},
                   responses={200: s.NotificationPreferenceSerializer(many=True), **ERRORS}, tags=["notifications"],
                   description="`{kind: {\"channel\"?, \"digest\"?}}`; kinds left out keep their setting.")
    def patch(self, request):
        if not isinstance(request.data, dict):
            raise InvalidInput({"non_field_errors": ["Send an object of kinds."]})
        choices = {}
        for kind, value in request.data.items():
            data = s.NotificationPreferenceInputSerializer(data=value if isinstance(value, dict) else None)
            if not data.is_valid():
                raise InvalidInput({str(kind): [str(e) for errs in data.errors.values() for e in errs]
                                    if isinstance(data.errors, dict) else ["Give channel and/or digest."]})
            choices[str(kind)] = dict(data.validated_data)
        rows = notifications.set_preferences(user=request.user, choices=choices)
        return Response(s.NotificationPreferenceSerializer(rows, many=True).data)
