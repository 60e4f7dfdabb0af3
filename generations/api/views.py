"""REST API views: parse input, call one service or selector, serialize."""
from __future__ import annotations

import uuid

from django.db.models import Prefetch
from django.http import Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework import exceptions, status
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
from ..inputs import require_clean_text
from ..models import DataExport, Generation, Membership, Team
from ..request_limits import BodyLimit
from ..selectors import accounts as account_reads
from ..selectors import notifications as notification_reads
from ..selectors import quotas as quota_reads
from ..selectors import teams as team_reads
from ..selectors import webhooks as webhook_reads
from ..services import account_data, moderation, ownership, submissions, teams, uploads
from ..services.notifications import inbox as notification_inbox
from ..services.notifications import preferences as notification_preferences
from ..services.waiting_line import queue_positions
from ..services.webhooks import endpoints as webhook_endpoints
from ..services.webhooks import signing as webhook_signing
from ..serving import serve_file
from . import serializers as s
from .authentication import BearerTokenAuthentication
from .errors import api_exception_handler
from .parsers import SafeJSONParser
from .throttles import THROTTLE_CLASSES

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
    throttle_classes = THROTTLE_CLASSES
    # The throttle scope of each HTTP method ("*": any other); unnamed methods count as "api".
    throttle_scopes: dict[str, str] = {}
    renderer_classes = [AsciiJSONRenderer]
    parser_classes = [SafeJSONParser, FormParser, MultiPartParser]

    def get_exception_handler(self):
        return api_exception_handler

    def check_permissions(self, request):
        # Throttles first: callers refused by a permission (anonymous ones: 401) are counted too.
        super().check_throttles(request)
        super().check_permissions(request)

    def check_throttles(self, request):
        pass  # already done in check_permissions, before the permissions

    def throttled(self, request, wait):
        seconds = max(1, int(wait or 1))
        raise exceptions.Throttled(wait=seconds, detail=f"Too many calls: try again in {seconds} seconds.")

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # Every id, slug, username and query parameter is looked up somewhere: refuse what the
        # database cannot take (a NUL byte) with one clear 400 instead of a database error.
        require_clean_text(**{name: value for name, value in kwargs.items() if isinstance(value, str)})
        require_clean_text(**{name: value for name, value in request.query_params.items()})

    def visible_generation(self, pk, *, staff_sees_all: bool = True) -> Generation:
        generation = selectors.get_visible_generation(self.request.user, pk, staff_sees_all=staff_sees_all)
        if generation is None:
            raise Http404
        return generation


class SchemaView(SpectacularAPIView):
    """The OpenAPI description, throttled and answering errors like the rest of the API (it is open to anyone)."""

    throttle_classes = THROTTLE_CLASSES

    def get_exception_handler(self):
        return api_exception_handler

    def throttled(self, request, wait):
        ApiView.throttled(self, request, wait)

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        # Errors are JSON like everywhere in the API, not rendered as an OpenAPI document.
        self.request.accepted_renderer = AsciiJSONRenderer()
        self.request.accepted_media_type = AsciiJSONRenderer.media_type
        return response


class Pagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class ModelListView(ApiView):
    throttle_scopes = {"GET": "list"}
    pagination_class = Pagination

    @extend_schema(parameters=[OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
                   responses={200: s.VideoModelListSerializer(many=True), **ERRORS}, tags=["models"],
                   description="Enabled models, paginated as the generations list; each model's guide "
                               "(`detailed_description`) is left out here and given by the model's own URL.")
    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.enabled_models(), request, view=self)
        return paginator.get_paginated_response(s.VideoModelListSerializer(page, many=True).data)


class ModelDetailView(ApiView):
    @extend_schema(responses={200: s.VideoModelSerializer, **ERRORS}, tags=["models"])
    def get(self, request, model_id: str):
        model = selectors.enabled_models().filter(pk=model_id).first()
        if model is None:
            raise Http404
        return Response(s.VideoModelSerializer(model).data)


class GenerationListView(ApiView):
    pagination_class = Pagination
    throttle_scopes = {"GET": "list", "POST": "submit"}

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, description="Comma-separated statuses."),
            OpenApiParameter("model", str),
            OpenApiParameter("team", str, description="Team slug."),
            OpenApiParameter("q", str, description="Search in prompts."),
            OpenApiParameter("collection", str, description="Id of a collection you may open: its videos."),
            OpenApiParameter("favorite", bool, description="`1`: only starred videos."),
            OpenApiParameter("batch", str, description="Id of one of your batches: its jobs."),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses={200: s.GenerationSerializer(many=True), **ERRORS},
        tags=["generations"],
    )
    def get(self, request):
        params = request.query_params
        collection = selectors.get_collection(request.user, params["collection"]) if params.get("collection") else None
        batch = selectors.batch_of(request.user, params["batch"]) if params.get("batch") else None
        qs = selectors.filter_generations(
            team_reads.hide_unopened_teams(selectors.visible_generations(request.user), user=request.user),
            status=params.get("status", ""), model=params.get("model", ""),
            q=params.get("q", ""), team=params.get("team", ""), collection=collection,
            favorite=params.get("favorite") in ("1", "true", "yes"), batch=batch,
        )
        if (params.get("collection") and collection is None) or (params.get("batch") and batch is None):
            qs = qs.none()  # a collection or batch the caller may not open holds nothing for them
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        context = {"request": request, "queue_positions": queue_positions(page),
                   "collection_ids": selectors.collection_ids_for(request.user, [g.pk for g in page])}
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
    throttle_scopes = {"POST": "quote"}

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
    throttle_scopes = {"GET": "detail"}

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
    throttle_scopes = {"POST": "submit"}

    @extend_schema(request=None, responses={201: s.GenerationSerializer, **WRITE_ERRORS},
                   tags=["generations"])
    def post(self, request, pk):
        generation = self.visible_generation(pk, staff_sees_all=False)
        key = request.headers.get("Idempotency-Key") or None
        new = submissions.rerun_generation(generation=generation, user=request.user, idempotency_key=key)
        return Response(s.GenerationSerializer(new, context={"request": request}).data, status=201)


class FileView(ApiView):
    kind = "video"
    throttle_scopes = {"GET": "detail"}

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
        return Response(quota_reads.usage_for_user(request.user))


class UploadView(ApiView):
    parser_classes = [MultiPartParser, FormParser]
    throttle_scopes = {"POST": "upload"}
    # A file streams to disk and stops at its kind's cap; a body announced over the
    # largest cap is refused before a byte of it is read.
    body_limit = BodyLimit(max_bytes=uploads.upload_request_max_bytes, code="file_too_large",
                           upload_handlers=uploads.streamed_upload_handlers)

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
    throttle_scopes = {"GET": "list"}

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
        data = s.MemberInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        username, role = data.validated_data["username"], data.validated_data["role"]
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
    throttle_scopes = {"GET": "list"}

    @extend_schema(responses={200: s.WebhookEndpointSerializer(many=True), **ERRORS}, tags=["webhooks"])
    def get(self, request):
        return Response(s.WebhookEndpointSerializer(webhook_reads.endpoints_of(request.user), many=True).data)

    @extend_schema(request=s.WebhookInputSerializer, responses={201: s.WebhookCreatedSerializer, **WRITE_ERRORS},
                   tags=["webhooks"], description="The answer carries `secret`, which is never shown again; a "
                   "target that is not a public, reachable address answers 400 `webhook_target_forbidden` (one "
                   "text for every reason); an account waiting for approval answers 403 `account_pending`.")
    def post(self, request):
        data = s.WebhookInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        endpoint = webhook_endpoints.create_endpoint(user=request.user, url=values["url"], events=values["events"],
                                                     team=values.get("team") or None)
        return Response(s.WebhookCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED)


class SubmissionSecretView(ApiView):
    """The secret that signs messages to a submission's own ``webhook`` URL (one per account)."""

    @extend_schema(responses={200: s.SubmissionSecretStateSerializer, **ERRORS}, tags=["webhooks"],
                   description="Whether the account has a per-submission secret; the secret itself is only "
                   "in the answer of the POST that makes it.")
    def get(self, request):
        return Response({"exists": webhook_reads.has_submission_secret(request.user)})

    @extend_schema(request=None, responses={200: s.SubmissionSecretSerializer, **WRITE_ERRORS}, tags=["webhooks"],
                   description="A new per-submission secret, in this answer only. The previous one keeps signing "
                   "beside it for 24 hours (`webhook-signature` then carries both signatures), so receivers can "
                   "switch without losing a message; after that only the new one signs. An account waiting for "
                   "approval answers 403 `account_pending`.")
    def post(self, request):
        return Response({"secret": webhook_signing.rotate_submission_secret(user=request.user)})


class WebhookView(ApiView):
    def endpoint(self, pk):
        endpoint = webhook_reads.endpoints_of(self.request.user).filter(pk=_uuid_or_none(pk)).first()
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
        webhook_endpoints.delete_endpoint(endpoint=self.endpoint(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookRotateView(WebhookView):
    @extend_schema(request=None, responses={200: s.WebhookCreatedSerializer, **ERRORS}, tags=["webhooks"],
                   description="A new secret (in this answer only); the old one stays valid for 24 hours.")
    def post(self, request, pk):
        endpoint = webhook_signing.rotate_secret(endpoint=self.endpoint(pk))
        return Response(s.WebhookCreatedSerializer(endpoint).data)


class WebhookDeliveriesView(WebhookView):
    pagination_class = Pagination
    throttle_scopes = {"GET": "list"}

    @extend_schema(parameters=[OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
                   responses={200: s.WebhookDeliverySerializer(many=True), **ERRORS}, tags=["webhooks"])
    def get(self, request, pk):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(webhook_reads.deliveries_of(self.endpoint(pk), viewer=request.user), request,
                                           view=self)
        return paginator.get_paginated_response(s.WebhookDeliverySerializer(page, many=True).data)


class WebhookResendView(WebhookView):
    @extend_schema(request=None, responses={202: s.WebhookDeliverySerializer, **WRITE_ERRORS}, tags=["webhooks"],
                   description="Send the message again soon, with the same `webhook-id`.")
    def post(self, request, pk, delivery_id):
        delivery = webhook_reads.deliveries_of(self.endpoint(pk), viewer=request.user).filter(
            pk=_uuid_or_none(delivery_id)).first()
        if delivery is None:
            raise Http404
        webhook_endpoints.resend_delivery(delivery=delivery)
        return Response(s.WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class NotificationListView(ApiView):
    throttle_scopes = {"GET": "list"}
    pagination_class = Pagination

    @extend_schema(
        parameters=[OpenApiParameter("unread", bool, description="Only unread ones."),
                    OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses={200: s.NotificationListSerializer, **ERRORS}, tags=["notifications"],
        description="Your notifications, newest first, with your `unread` count.",
    )
    def get(self, request):
        unread_only = request.query_params.get("unread") in ("1", "true", "yes")
        qs = notification_reads.notifications_of(request.user, unread_only=unread_only).select_related("team")
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        results = s.NotificationSerializer(page, many=True, context={"request": request}).data
        return Response({
            "count": paginator.page.paginator.count,
            "unread": notification_reads.unread_notification_count(request.user),
            "next": paginator.get_next_link(), "previous": paginator.get_previous_link(), "results": results,
        })


class NotificationReadView(ApiView):
    @extend_schema(request=s.NotificationReadInputSerializer, responses={200: s.NotificationReadSerializer, **ERRORS},
                   tags=["notifications"],
                   description="Mark the notifications of `ids` read (ids that are not yours are ignored), or all.")
    def post(self, request):
        data = s.NotificationReadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        marked = notification_inbox.mark_read(user=request.user, ids=data.validated_data.get("ids"))
        return Response({"marked": marked, "unread": notification_reads.unread_notification_count(request.user)})


class NotificationPreferencesView(ApiView):
    @extend_schema(responses={200: s.NotificationPreferenceSerializer(many=True), **ERRORS}, tags=["notifications"])
    def get(self, request):
        rows = notification_preferences.preferences_of(request.user)
        return Response(s.NotificationPreferenceSerializer(rows, many=True).data)

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
        rows = notification_preferences.set_preferences(user=request.user, choices=choices)
        return Response(s.NotificationPreferenceSerializer(rows, many=True).data)


def _export_body(request, export: DataExport) -> dict:
    # An expired export reads as failed: its zip is gone, and the member may ask for another.
    status_word = "failed" if export.status == DataExport.Status.EXPIRED else str(export.status)
    body: dict = {"id": str(export.pk), "status": status_word}
    if export.status == DataExport.Status.READY:
        body["url"] = request.build_absolute_uri(reverse("generations:api:me-export-download", args=[export.pk]))
        body["expires_at"] = export.expires_at.isoformat() if export.expires_at else None
        body["size"] = export.size
    elif export.status == DataExport.Status.FAILED:
        body["error"] = export.error
    elif export.status == DataExport.Status.EXPIRED:
        body["error"] = "The export expired and was deleted; ask for a new one."
    return body


class MeExportListView(ApiView):
    @extend_schema(request=None, responses={202: s.DataExportSerializer, **ERRORS}, tags=["account"])
    def post(self, request):
        export = account_data.request_export(user=request.user)
        return Response(_export_body(request, export), status=status.HTTP_202_ACCEPTED)


class MeExportDetailView(ApiView):
    @extend_schema(responses={200: s.DataExportSerializer, **ERRORS}, tags=["account"])
    def get(self, request, pk):
        return Response(_export_body(request, account_reads.export_of(user=request.user, export_id=pk)))


class MeExportDownloadView(ApiView):
    @extend_schema(responses={(200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="The zip."),
                              302: OpenApiResponse(description="Redirect to a signed storage URL."), **ERRORS},
                   tags=["account"])
    def get(self, request, pk):
        export = account_reads.export_of(user=request.user, export_id=pk)
        if export.status != DataExport.Status.READY:
            raise Http404
        return serve_file(request, name=export.file_name, content_type="application/zip",
                          filename=f"gmi-portal-export-{export.created_at:%Y%m%d}.zip", attachment=True)


class MeView(ApiView):
    @extend_schema(request=s.AccountDeletionSerializer,
                   responses={204: None, 409: OpenApiResponse(s.ErrorSerializer, description="A team needs an owner."),
                              **ERRORS}, tags=["account"])
    def delete(self, request):
        data = s.AccountDeletionSerializer(data=request.data)
        if not data.is_valid():
            raise InvalidInput({"password": ["Enter your password to confirm."]})
        account_data.delete_account(user=request.user, password=data.validated_data["password"],
                                    request=request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)
