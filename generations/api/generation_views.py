"""REST API views of models, generations, their files, quotas, uploads, flags and moderation.

Each parses its input, calls one service or selector, and serializes the answer."""
from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from .. import permissions
from ..request_limits import BodyLimit
from ..selectors import catalogue as catalogue_reads
from ..selectors import generations as generation_reads
from ..selectors import quotas as quota_reads
from ..selectors import studio as studio_reads
from ..selectors import teams as team_reads
from ..services import moderation, ownership, submissions, uploads
from ..services.waiting_line import queue_positions
from ..serving import serve_file
from . import serializers as s
from .base import ERRORS, WRITE_ERRORS, ApiView, Pagination


class ModelListView(ApiView):
    throttle_scopes = {"GET": "list"}
    pagination_class = Pagination

    @extend_schema(parameters=[OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
                   responses={200: s.VideoModelListSerializer(many=True), **ERRORS}, tags=["models"],
                   description="Enabled models, paginated as the generations list; each model's guide "
                               "(`detailed_description`) is left out here and given by the model's own URL.")
    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(catalogue_reads.enabled_models(), request, view=self)
        return paginator.get_paginated_response(s.VideoModelListSerializer(page, many=True).data)


class ModelDetailView(ApiView):
    @extend_schema(responses={200: s.VideoModelSerializer, **ERRORS}, tags=["models"])
    def get(self, request, model_id: str):
        model = catalogue_reads.enabled_models().filter(pk=model_id).first()
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
        collection = (studio_reads.get_collection(request.user, params["collection"])
                      if params.get("collection") else None)
        batch = studio_reads.batch_of(request.user, params["batch"]) if params.get("batch") else None
        qs = generation_reads.filter_generations(
            team_reads.hide_unopened_teams(generation_reads.visible_generations(request.user), user=request.user),
            status=params.get("status", ""), model=params.get("model", ""),
            q=params.get("q", ""), team=params.get("team", ""), collection=collection,
            favorite=params.get("favorite") in ("1", "true", "yes"), batch=batch,
        )
        if (params.get("collection") and collection is None) or (params.get("batch") and batch is None):
            qs = qs.none()  # a collection or batch the caller may not open holds nothing for them
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        context = {"request": request, "queue_positions": queue_positions(page),
                   "collection_ids": studio_reads.collection_ids_for(request.user, [g.pk for g in page])}
        return paginator.get_paginated_response(s.GenerationSerializer(page, many=True, context=context).data)

    @extend_schema(
        request=s.GenerationInputSerializer,
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER,
                                     description="Retrying with the same key returns the first generation.")],
        responses={201: s.GenerationSerializer, **WRITE_ERRORS},
        tags=["generations"],
    )
    def post(self, request):
        values = self.valid_input(s.GenerationInputSerializer)
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
        values = self.valid_input(s.GenerationInputSerializer)
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
        values = self.valid_input(s.GenerationUpdateSerializer)
        generation = ownership.update_generation(generation=generation, user=request.user, **values)
        return Response(s.GenerationSerializer(generation, context={"request": request}).data)

    @extend_schema(responses={204: None, **WRITE_ERRORS}, tags=["generations"])
    def delete(self, request, pk):
        generation = self.visible_generation(pk, staff_sees_all=False)
        if not permissions.may_delete(request.user, generation):
            raise Http404
        submissions.delete_generation(generation=generation, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CancelView(ApiView):
    @extend_schema(request=None, responses={200: s.GenerationSerializer, **WRITE_ERRORS},
                   tags=["generations"])
    def post(self, request, pk):
        generation = self.visible_generation(pk)
        if not permissions.may_cancel(request.user, generation):
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
        if not permissions.may_see_files(request.user, generation):
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
        values = self.valid_input(s.UploadInputSerializer)
        upload = uploads.upload_reference(user=request.user, uploaded_file=values["file"])
        return Response(s.UploadSerializer(upload).data, status=status.HTTP_201_CREATED)


class FlagView(ApiView):
    @extend_schema(request=s.FlagInputSerializer, responses={201: s.FlagSerializer, **WRITE_ERRORS},
                   tags=["moderation"])
    def post(self, request, pk):
        generation = self.visible_generation(pk)
        values = self.valid_input(s.FlagInputSerializer)
        flag = moderation.flag_generation(generation=generation, user=request.user,
                                          reason=values["reason"])
        return Response({"id": flag.pk, "generation": str(generation.pk), "reason": flag.reason,
                         "created_at": flag.created_at}, status=201)


class ModerateView(ApiView):
    @extend_schema(request=s.ModerateInputSerializer, responses={200: s.GenerationSerializer, **WRITE_ERRORS},
                   tags=["moderation"])
    def post(self, request, pk):
        if not permissions.can_moderate_generations(request.user):
            raise Http404  # the endpoint's existence is not disclosed to those who may not moderate
        generation = self.visible_generation(pk)
        values = self.valid_input(s.ModerateInputSerializer)
        moderation.moderate_generation(generation=generation, moderator=request.user,
                                       decision=values["decision"],
                                       reason=values["reason"])
        generation.refresh_from_db()
        return Response(s.GenerationSerializer(generation, context={"request": request}).data)
