"""API serializers: input shapes are validated here; behaviour lives in services."""
from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ParseError

from .. import representation, words
from ..forms import widget_for
from ..gmi import schema
from ..models import (
    Generation,
    Membership,
    Notification,
    Team,
    TeamInvitation,
    VideoModel,
    WebhookDelivery,
    WebhookEndpoint,
)
from ..selectors import generations as generation_reads
from ..services.waiting_line import queue_positions
from .parsers import check_value

# The event types of SPEC §3.4 (services.webhooks.endpoints.EVENTS is checked against this in the tests).
WEBHOOK_EVENTS = ("generation.dispatched", "generation.succeeded", "generation.failed", "generation.cancelled",
                  "generation.moderated", "quota.threshold")


class ParameterSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label
    help = serializers.CharField(allow_blank=True)
    kind = serializers.CharField()
    widget = serializers.CharField()
    required = serializers.BooleanField()  # type: ignore[assignment]  # a field named like Field.required
    default = serializers.JSONField(allow_null=True)
    options = serializers.ListField(child=serializers.JSONField(), allow_null=True)
    minimum = serializers.FloatField(allow_null=True)
    maximum = serializers.FloatField(allow_null=True)
    step = serializers.FloatField(allow_null=True)


class VideoModelSerializer(serializers.ModelSerializer):
    parameters = serializers.SerializerMethodField()
    raw_parameters = serializers.JSONField(source="parameters", read_only=True)
    payload_schema = serializers.SerializerMethodField()
    price_credits = serializers.DecimalField(max_digits=10, decimal_places=2, coerce_to_string=False, read_only=True)

    class Meta:
        model = VideoModel
        fields = ["id", "display_name", "brief_description", "detailed_description", "modalities", "parameters",
                  "raw_parameters", "payload_schema", "price_credits", "price_unit", "available"]

    @extend_schema_field(ParameterSerializer(many=True))
    def get_parameters(self, obj: VideoModel) -> list[dict]:
        return [_parameter_description(p) for p in schema.read_parameters(obj.parameters)]

    @extend_schema_field(serializers.DictField())
    def get_payload_schema(self, obj: VideoModel) -> dict:
        return schema.payload_json_schema(schema.read_parameters(obj.parameters))


class VideoModelListSerializer(VideoModelSerializer):
    """A model in the list: everything but its guide (up to ``CATALOGUE_MAX_GUIDE_CHARS`` each), which
    ``GET /models/{id}/`` gives."""

    class Meta(VideoModelSerializer.Meta):
        fields = [f for f in VideoModelSerializer.Meta.fields if f != "detailed_description"]


def _parameter_description(param: schema.Parameter) -> dict:
    """``Parameter.to_dict()`` plus the control the portal's own form gives it, for clients building forms."""
    data = param.to_dict()
    # "widget" keeps its place right after "kind"; the later keys follow in to_dict's order.
    return {**{key: data[key] for key in ("name", "label", "help", "kind")}, "widget": widget_for(param), **data}


class GenerationInputSerializer(serializers.Serializer):
    model = serializers.CharField(max_length=200)
    payload = serializers.JSONField(help_text="Parameters for the model, as described by its parameter schema.")
    team = serializers.CharField(required=False, allow_null=True, allow_blank=True,
                                 help_text="Slug of one of your teams.")
    visibility = serializers.ChoiceField(choices=Generation.Visibility.choices, required=False, allow_null=True)
    webhook = serializers.CharField(required=False, allow_blank=True, max_length=2000,
                                    help_text="An http(s) URL told about this job's events (signed, see webhooks).")
    webhook_events_filter = serializers.ListField(
        child=serializers.ChoiceField(choices=WEBHOOK_EVENTS), required=False,
        help_text="Which events go to `webhook`; empty or absent: all of them.")

    def validate_payload(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object of parameter names to values.",
                                              code="invalid_payload")
        try:
            check_value(value)  # form and multipart bodies did not go through the JSON parser
        except ParseError as exc:
            raise serializers.ValidationError(str(exc.detail), code="invalid_payload") from None
        return value

    def validate(self, attrs):
        try:
            check_value({k: v for k, v in attrs.items() if k != "payload"})
        except ParseError as exc:
            raise serializers.ValidationError(str(exc.detail)) from None
        return attrs


class GenerationSerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="model_id")
    team: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    owner = serializers.SerializerMethodField()
    queue_position = serializers.SerializerMethodField()
    video_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()
    removed = serializers.SerializerMethodField()
    credits = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=False)
    video = serializers.SerializerMethodField()
    batch = serializers.UUIDField(source="batch_id", allow_null=True, read_only=True,
                                  help_text="The batch (or compare) it was submitted in, if any.")
    collections = serializers.SerializerMethodField()
    title = serializers.CharField(source="display_title",
                                  help_text="The owner's title; when none was given, the prompt's first words.")
    error = serializers.SerializerMethodField(help_text="Why the job did not finish, in plain words, and what to "
                                                        "do next (GMI's own text stays with the site's staff).")
    aspect_ratio = serializers.SerializerMethodField(help_text='What the payload asks for ("16:9"); null when unknown.')
    duration_seconds = serializers.SerializerMethodField(help_text="The length in seconds the payload asks for; "
                                                                   "null when unknown.")

    class Meta:
        model = Generation
        fields = ["id", "title", "model", "payload", "prompt", "status", "error", "error_code", "upstream_request_id",
                  "queue_position", "team", "visibility", "owner", "moderation", "moderation_reason", "removed",
                  "video_seconds", "credits", "created_at", "updated_at", "dispatched_at", "finished_at",
                  "video_url", "thumbnail_url", "video", "rerun_of", "favorite", "keep", "aspect_ratio",
                  "duration_seconds", "batch", "collections"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_collections(self, obj: Generation) -> list[str]:
        """Ids of the collections the viewer may open that hold it; lists pass them in ``collection_ids``."""
        known = self.context.get("collection_ids")
        if known is not None:
            return known.get(obj.pk, [])
        return representation.collections_of(obj, self._viewer())

    def _viewer(self) -> Any:
        # Without a request the context names who looks ("viewer").
        request = self.context.get("request")
        return getattr(request, "user", None) if request is not None else self.context.get("viewer")

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        if request is not None:
            return request.build_absolute_uri(path)
        return representation.site_absolute(self.context.get("site_url") or "")(path)

    def get_owner(self, obj: Generation) -> str:
        return obj.owner.get_username()

    def get_error(self, obj: Generation) -> str:
        return words.failure_words(obj)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_aspect_ratio(self, obj: Generation) -> str | None:
        return generation_reads.video_shape(obj)["aspect_ratio"]

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_duration_seconds(self, obj: Generation) -> int | None:
        return generation_reads.video_shape(obj)["duration_seconds"]

    def get_queue_position(self, obj: Generation) -> int | None:
        positions = self.context.get("queue_positions")
        if positions is None:
            positions = queue_positions([obj])
        return positions.get(obj.pk)

    def get_removed(self, obj: Generation) -> bool:
        return obj.is_removed

    def get_video_url(self, obj: Generation) -> str | None:
        return representation.file_url(obj, obj.video_name, "generation-video", viewer=self._viewer(),
                                       absolute=self._absolute)

    def get_thumbnail_url(self, obj: Generation) -> str | None:
        return representation.file_url(obj, obj.thumbnail_name, "generation-thumbnail", viewer=self._viewer(),
                                       absolute=self._absolute)

    @extend_schema_field(serializers.DictField(allow_null=True))
    def get_video(self, obj: Generation) -> dict | None:
        return representation.video_facts(obj)

    def to_representation(self, obj):
        # One representation (generations/representation.py) for API answers and webhook bodies;
        # the declarations above still describe the shape (OpenAPI), and the test of the
        # representation pins that both agree.
        return representation.generation_data(obj, viewer=self._viewer(), absolute=self._absolute,
                                               queue_position=self.get_queue_position(obj),
                                               collections=self.get_collections(obj))


class GenerationUpdateSerializer(serializers.Serializer):
    """What the owner may change; every field optional, only those sent change."""

    title = serializers.CharField(required=False, allow_blank=True, max_length=200, trim_whitespace=True,
                                  help_text="Blank: the prompt's first words again.")
    visibility = serializers.ChoiceField(required=False, choices=Generation.Visibility.choices)
    team = serializers.CharField(required=False, allow_null=True, allow_blank=True,
                                 help_text="The slug of a team the owner is in; null or blank for none.")
    favorite = serializers.BooleanField(required=False)
    keep = serializers.BooleanField(required=False, help_text="Kept: retention spares its files.")


class QuoteSerializer(serializers.Serializer):
    credits = serializers.FloatField()
    video_seconds = serializers.IntegerField()
    accepted = serializers.BooleanField()
    will_wait = serializers.BooleanField()
    refusal = serializers.DictField(allow_null=True)
    usage = serializers.DictField()


class UsageSerializer(serializers.Serializer):
    limits = serializers.DictField()
    used = serializers.DictField()
    remaining = serializers.DictField()
    resets_at = serializers.DictField()
    teams = serializers.ListField(child=serializers.DictField())


class UploadInputSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=False)


class UploadSerializer(serializers.Serializer):
    url = serializers.CharField(source="public_url")
    file_type = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.SerializerMethodField()

    class Meta:
        model = Membership
        fields = ["username", "role", "joined_at"]

    def get_username(self, obj: Membership) -> str:
        return obj.user.get_username()


class TeamSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()
    members = serializers.SerializerMethodField()

    class Meta:
        model = Team
        fields = ["name", "slug", "role", "members", "monthly_video_seconds", "monthly_credits", "created_at"]
        read_only_fields = ["slug", "role", "members", "monthly_video_seconds", "monthly_credits", "created_at"]

    def get_role(self, obj: Team) -> str | None:
        user = self.context["request"].user
        for membership in obj.memberships.all():
            if membership.user_id == user.pk:
                return membership.role
        return None

    @extend_schema_field(MemberSerializer(many=True))
    def get_members(self, obj: Team) -> list[dict]:
        return MemberSerializer(obj.memberships.all(), many=True).data  # type: ignore[return-value]  # many=True: a list


class TeamInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)


class MemberInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=[("admin", "admin"), ("member", "member")], default="member")


class MemberInvitedSerializer(serializers.Serializer):
    """The answer to inviting someone who is not a member: the same whether or not the account exists."""

    username = serializers.CharField()
    role = serializers.CharField()
    status = serializers.CharField(default="invited")
    detail = serializers.CharField()


class InvitationSerializer(serializers.ModelSerializer):
    """An invitation addressed to the requesting user."""

    team = serializers.CharField(source="team.slug")
    team_name = serializers.CharField(source="team.name")
    role = serializers.CharField()
    invited_by = serializers.SerializerMethodField()

    class Meta:
        model = TeamInvitation
        fields = ["id", "team", "team_name", "role", "invited_by", "created_at"]

    def get_invited_by(self, obj: TeamInvitation) -> str | None:
        return obj.invited_by.get_username() if obj.invited_by else None


class FlagInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class FlagSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    generation = serializers.UUIDField()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class ModerateInputSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=[("approve", "approve"), ("reject", "reject")])
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()


class WebhookInputSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=2000)
    events = serializers.ListField(child=serializers.ChoiceField(choices=WEBHOOK_EVENTS), allow_empty=False)
    team = serializers.CharField(required=False, allow_null=True, allow_blank=True,
                                 help_text="Slug of a team you own or administer: its generations' events.")


class WebhookEndpointSerializer(serializers.ModelSerializer):
    team: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="slug", read_only=True,
                                                                      allow_null=True)

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "events", "team", "enabled", "disabled_reason", "failing_since", "created_at"]
        read_only_fields = fields


class WebhookCreatedSerializer(serializers.ModelSerializer):
    secret = serializers.CharField(help_text="whsec_...: verify signatures with it. Shown only in this answer.")

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "events", "secret"]
        read_only_fields = fields


class SubmissionSecretStateSerializer(serializers.Serializer):
    exists = serializers.BooleanField(help_text="Whether the account has a per-submission secret yet.")


class SubmissionSecretSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="whsec_...: verifies messages to submissions' own webhooks. "
                                             "Shown only in this answer.")


class WebhookDeliverySerializer(serializers.ModelSerializer):
    payload = serializers.SerializerMethodField(
        help_text="The message as sent; null unless you may open its video now (as its GET answers 200).")

    class Meta:
        model = WebhookDelivery
        fields = ["id", "event_type", "message_id", "status", "attempts", "next_attempt_at", "last_status_code",
                  "last_latency_ms", "last_response", "last_error", "last_attempt_at", "created_at", "payload"]
        read_only_fields = fields

    def get_payload(self, obj: WebhookDelivery) -> dict[str, Any] | None:
        # Rows come from deliveries_of, which asks the one rule; a row without its answer shows nothing.
        return obj.payload if getattr(obj, "payload_shown", False) else None


class NotificationSerializer(serializers.ModelSerializer):
    generation = serializers.UUIDField(source="generation_id", allow_null=True, read_only=True)
    team = serializers.SerializerMethodField()
    link = serializers.SerializerMethodField()
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "link", "generation", "team", "data", "read", "read_at", "created_at"]
        read_only_fields = fields

    def get_team(self, obj: Notification) -> str | None:
        return obj.team.slug if obj.team_id and obj.team is not None else None

    def get_link(self, obj: Notification) -> str | None:
        request = self.context.get("request")
        if not obj.link:
            return None
        return request.build_absolute_uri(obj.link) if request is not None else obj.link

    def get_read(self, obj: Notification) -> bool:
        return obj.read_at is not None


class NotificationListSerializer(serializers.Serializer):
    """The paginated list, with the member's unread count beside it."""

    count = serializers.IntegerField()
    unread = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = NotificationSerializer(many=True)


class NotificationReadInputSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, max_length=1000,
                                help_text="Leave out to mark every notification read.")


class NotificationReadSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many were unread and are read now.")
    unread = serializers.IntegerField()


class NotificationPreferenceSerializer(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label
    help = serializers.CharField()
    channel = serializers.ChoiceField(choices=["off", "in_app", "email"])
    digest = serializers.BooleanField()
    channels = serializers.ListField(child=serializers.CharField())


class NotificationPreferenceInputSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=["off", "in_app", "email"], required=False)
    digest = serializers.BooleanField(required=False)


class DataExportSerializer(serializers.Serializer):
    """A member's export: ``url`` and ``expires_at`` once it is ready."""

    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=["pending", "ready", "failed"])
    url = serializers.URLField(required=False)
    expires_at = serializers.DateTimeField(required=False)
    size = serializers.IntegerField(required=False)
    error = serializers.CharField(required=False)


class AccountDeletionSerializer(serializers.Serializer):
    password = serializers.CharField(trim_whitespace=False, max_length=4096)
