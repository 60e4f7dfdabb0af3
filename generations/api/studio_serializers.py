"""API serializers of batches, compares, share links, collections and frames (input shapes; behaviour in services)."""
from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import Collection, Generation, ShareLink
from .serializers import GenerationSerializer


class BatchItemSerializer(serializers.Serializer):
    """One job of a batch (documentation only: items are validated together by the batch service)."""

    model = serializers.CharField(max_length=200)
    payload = serializers.JSONField(help_text="Parameters for the model, as described by its parameter schema.")


class BatchInputSerializer(serializers.Serializer):
    items = serializers.ListField(
        child=serializers.JSONField(), allow_empty=True,
        help_text="1 to 100 jobs, each `{\"model\", \"payload\"}`; all are accepted or none. "
                  "Problems come back per job as `items[i].field`.")
    team = serializers.CharField(required=False, allow_null=True, allow_blank=True,
                                 help_text="Slug of one of your teams (all jobs).")
    visibility = serializers.ChoiceField(choices=Generation.Visibility.choices, required=False, allow_null=True)


class BatchQuoteInputSerializer(serializers.Serializer):
    items = serializers.ListField(child=serializers.JSONField(), allow_empty=True)
    team = serializers.CharField(required=False, allow_null=True, allow_blank=True)


class BatchSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField(help_text="`batch`, or `compare` (one prompt over several models).")
    created_at = serializers.DateTimeField()
    generations = GenerationSerializer(many=True)
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="Jobs per status.")


class BatchCancelSerializer(BatchSerializer):
    cancelled = serializers.ListField(child=serializers.UUIDField(), help_text="The jobs this call cancelled.")


class BatchQuoteSerializer(serializers.Serializer):
    jobs = serializers.IntegerField()
    credits = serializers.FloatField()
    video_seconds = serializers.IntegerField()
    accepted = serializers.BooleanField()
    will_wait = serializers.BooleanField()
    refusal = serializers.DictField(allow_null=True)
    items = serializers.ListField(child=serializers.DictField())
    usage = serializers.DictField()


class ShareInputSerializer(serializers.Serializer):
    expires_in = serializers.IntegerField(required=False, help_text="Seconds the link works (60 s to 90 days; "
                                          "default 7 days).")
    show_prompt = serializers.BooleanField(required=False, default=False)
    show_owner = serializers.BooleanField(required=False, default=False)
    allow_download = serializers.BooleanField(required=False, default=True)


class ShareSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    generation = serializers.UUIDField(source="generation_id", read_only=True)

    class Meta:
        model = ShareLink
        fields = ["id", "url", "expires_at", "generation", "show_prompt", "show_owner", "allow_download", "views",
                  "revoked_at", "created_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_url(self, obj: ShareLink) -> str | None:
        """The link itself, only in the answer that made it: the token is not stored."""
        token = self.context.get("token")
        if not token:
            return None
        path = reverse("generations:share", args=[token])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class CollectionInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    team = serializers.CharField(required=False, allow_null=True, allow_blank=True,
                                 help_text="Slug of one of your teams: the collection is shared with it.")


class CollectionPatchSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)


class CollectionItemsInputSerializer(serializers.Serializer):
    generations = serializers.ListField(child=serializers.CharField(max_length=64), min_length=1, max_length=100)


class CollectionSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)  # type: ignore[var-annotated]
    owner = serializers.CharField(source="owner.get_username", read_only=True)
    count = serializers.IntegerField(read_only=True)
    cover_url = serializers.SerializerMethodField()

    class Meta:
        model = Collection
        fields = ["id", "name", "team", "owner", "count", "cover_url", "created_at", "updated_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_cover_url(self, obj: Collection) -> str | None:
        cover = (self.context.get("covers") or {}).get(obj.pk)
        if cover is None:
            return None
        url = reverse("generations:api:generation-thumbnail", args=[cover.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url


class CollectionItemsSerializer(serializers.Serializer):
    added = serializers.IntegerField()
    count = serializers.IntegerField()


class FrameInputSerializer(serializers.Serializer):
    at = serializers.JSONField(required=False, help_text='Seconds into the video, or "last" (the default).')


class FrameSerializer(serializers.Serializer):
    url = serializers.URLField(help_text="GMI's public URL of the PNG: use it as an image input.")
    file_type = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    at = serializers.FloatField(help_text="The time of the frame taken, in seconds.")
