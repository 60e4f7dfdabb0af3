"""REST API views of batches, compares, share links, collections and frames: parse, call one service, serialize."""
from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from .. import permissions, representation
from ..models import Batch, Collection
from ..selectors import studio as studio_reads
from ..services import batches, collections, frames, shares
from ..services.waiting_line import queue_positions
from . import serializers as s
from . import studio_serializers as ss
from .base import ERRORS, WRITE_ERRORS, ApiView, Pagination

IDEMPOTENCY = OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER,
                               description="Retrying with the same key returns the first batch.")
BATCH_EXAMPLE = OpenApiExample(
    "Two prompts on one model", request_only=True,
    value={"items": [{"model": "Veo3", "payload": {"prompt": "a red fox in snow", "durationSeconds": 4}},
                     {"model": "Veo3", "payload": {"prompt": "a lighthouse at dusk", "durationSeconds": 4}}]},
)
COMPARE_EXAMPLE = OpenApiExample(
    "A compare: one prompt over two models", request_only=True,
    value={"items": [{"model": "Veo3", "payload": {"prompt": "a paper boat on a river"}},
                     {"model": "Luma-Ray2", "payload": {"prompt": "a paper boat on a river"}}]},
)
INVALID_BATCH_EXAMPLE = OpenApiExample(
    "One job needs changes", response_only=True, status_codes=["400"],
    value={"detail": "1 of 2 jobs need changes; nothing was submitted.", "code": "invalid",
           "errors": {"items[1].payload.durationSeconds": ["Choose one of 4, 6, 8."]}},
)


BATCH_PROGRESS_EXAMPLE = OpenApiExample(
    "A batch under way", response_only=True, status_codes=["200"],
    value={"id": "3f1c1e0a-8a51-4f0e-9f55-1a7c2b9d0e42", "kind": "batch", "created_at": "2026-12-07T09:00:00Z",
           "generations": ["… each job as in GET /api/v1/generations/{id}/ …"],
           "counts": {"queued": 1, "dispatched": 0, "processing": 1, "mirroring": 0, "succeeded": 1, "failed": 0,
                      "cancelled": 0}},
)
COLLECTION_EXAMPLE = OpenApiExample(
    "A team collection", response_only=True, status_codes=["200", "201"],
    value={"id": "9b2f6a8e-1c3d-4e5f-8a7b-6c5d4e3f2a1b", "name": "Client picks", "team": "studio",
           "owner": "alice", "count": 2,
           "cover_url": "https://videos.example.com/api/v1/generations/0f8c7d36-52a3-4a8e-9a5e-2b1f0d4c6e71/thumbnail/",
           "created_at": "2026-12-07T09:00:00Z", "updated_at": "2026-12-07T09:05:00Z"},
)


NOT_FOUND_EXAMPLE = OpenApiExample("Not yours, or gone", response_only=True, status_codes=["404"],
                                   value={"detail": "Not found.", "code": "not_found"})


def _batch_body(request, batch: Batch, generations: list) -> dict:
    context = {"request": request, "queue_positions": queue_positions(generations),
               "collection_ids": studio_reads.collection_ids_for(request.user, [g.pk for g in generations])}
    return {
        "id": str(batch.pk), "kind": batch.kind, "created_at": representation.timestamp(batch.created_at),
        "generations": s.GenerationSerializer(generations, many=True, context=context).data,
        "counts": studio_reads.batch_counts(generations),
    }


class BatchCreateView(ApiView):
    throttle_scopes = {"POST": "submit"}

    @extend_schema(request=ss.BatchInputSerializer, parameters=[IDEMPOTENCY],
                   examples=[BATCH_EXAMPLE, COMPARE_EXAMPLE, INVALID_BATCH_EXAMPLE],
                   responses={201: ss.BatchSerializer, **WRITE_ERRORS}, tags=["batches"],
                   description="Submit 1 to 100 jobs at once (a compare is one prompt over several models). "
                   "Every job is validated first (errors per job as `items[i].field`), then the quota of all "
                   "is reserved in one move: all are accepted, or none (429 `quota_exceeded` creates nothing). "
                   "Each job waits in the fair line like any other.")
    def post(self, request):
        values = self.valid_input(ss.BatchInputSerializer)
        batch = batches.submit_batch(
            user=request.user, items=values["items"], team=values.get("team") or None,
            visibility=values.get("visibility") or None,
            idempotency_key=request.headers.get("Idempotency-Key") or None,
        )
        generations = getattr(batch, "_prefetched_generations", None) or list(studio_reads.batch_generations(batch))
        return Response(_batch_body(request, batch, generations), status=status.HTTP_201_CREATED)


class BatchQuoteView(ApiView):
    throttle_scopes = {"POST": "quote"}

    @extend_schema(request=ss.BatchQuoteInputSerializer,
                   examples=[BATCH_EXAMPLE, OpenApiExample("Over the daily limit", response_only=True,
                                                           status_codes=["200"], value={
                       "jobs": 2, "credits": 20, "video_seconds": 16, "accepted": False, "will_wait": False,
                       "refusal": {"code": "quota_exceeded", "limit": "daily_jobs", "scope": "user",
                                   "resets_at": "2026-12-08T00:00:00Z"},
                       "items": [{"model": "Veo3", "video_seconds": 8, "credits": 10}] * 2, "usage": {}})],
                   responses={200: ss.BatchQuoteSerializer, **WRITE_ERRORS}, tags=["batches"],
                   description="What the batch would cost altogether and whether it would be accepted now. "
                   "Creates nothing.")
    def post(self, request):
        values = self.valid_input(ss.BatchQuoteInputSerializer)
        return Response(batches.quote_batch(user=request.user, items=values["items"],
                                            team=values.get("team") or None))


class BatchView(ApiView):
    def batch(self, pk) -> Batch:
        batch = studio_reads.batch_of(self.request.user, pk)
        if batch is None:
            raise Http404
        return batch


class BatchDetailView(BatchView):
    throttle_scopes = {"GET": "detail"}

    @extend_schema(responses={200: ss.BatchSerializer, **ERRORS}, tags=["batches"], examples=[BATCH_PROGRESS_EXAMPLE],
                   description="The batch's jobs in submission order and how many are in each status.")
    def get(self, request, pk):
        batch = self.batch(pk)
        return Response(_batch_body(request, batch, list(studio_reads.batch_generations(batch))))


class BatchCancelView(BatchView):
    @extend_schema(request=None, responses={200: ss.BatchCancelSerializer, **WRITE_ERRORS}, tags=["batches"],
                   examples=[OpenApiExample("Two jobs were still waiting", response_only=True, status_codes=["200"],
                                            value={"id": "3f1c1e0a-8a51-4f0e-9f55-1a7c2b9d0e42", "kind": "batch",
                                                   "counts": {"succeeded": 1, "cancelled": 2},
                                                   "cancelled": ["7a1e2b3c-4d5e-4f60-8a9b-0c1d2e3f4a5b",
                                                                 "0f8c7d36-52a3-4a8e-9a5e-2b1f0d4c6e71"]})],
                   description="Cancel every job of the batch that has not ended; finished ones stay.")
    def post(self, request, pk):
        batch = self.batch(pk)
        cancelled = batches.cancel_batch(batch=batch, actor=request.user)
        body = _batch_body(request, batch, list(studio_reads.batch_generations(batch)))
        body["cancelled"] = [str(g.pk) for g in cancelled]
        return Response(body)


class ShareCreateView(ApiView):
    @extend_schema(request=ss.ShareInputSerializer, responses={201: ss.ShareSerializer, **WRITE_ERRORS},
                   examples=[OpenApiExample("A week", request_only=True, value={"expires_in": 604800}),
                             OpenApiExample("Made", response_only=True, status_codes=["201"], value={
                                 "id": "5b0d7c1e-8f1e-4a53-9d8e-0a4c1f7c2d11",
                                 "url": "https://videos.example.com/s/Xq3...token.../",
                                 "expires_at": "2026-12-14T09:00:00Z"})],
                   tags=["shares"],
                   description="A public link to your video (owner only; others get 404). `url` is in this "
                   "answer only. 400 `no_video` before the video is ready; 403 `sharing_disabled` when staff "
                   "turned sharing off.")
    def post(self, request, pk):
        generation = self.visible_generation(pk, staff_sees_all=False)
        values = self.valid_input(ss.ShareInputSerializer)
        share, token = shares.create_share_link(
            generation=generation, user=request.user, expires_in=values.get("expires_in"),
            show_prompt=values["show_prompt"], show_owner=values["show_owner"],
            allow_download=values["allow_download"])
        return Response(ss.ShareSerializer(share, context={"request": request, "token": token}).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: ss.ShareSerializer(many=True), **ERRORS}, tags=["shares"],
                   examples=[OpenApiExample("One live link", response_only=True, status_codes=["200"], value=[{
                       "id": "5b0d7c1e-8f1e-4a53-9d8e-0a4c1f7c2d11", "url": None,
                       "expires_at": "2026-12-14T09:00:00Z", "generation": "0f8c7d36-52a3-4a8e-9a5e-2b1f0d4c6e71",
                       "show_prompt": False, "show_owner": False, "allow_download": True, "views": 3,
                       "revoked_at": None, "created_at": "2026-12-07T09:00:00Z"}])],
                   description="Your links of this video (their URLs are not shown again).")
    def get(self, request, pk):
        generation = self.visible_generation(pk, staff_sees_all=False)
        if not permissions.may_change(request.user, generation):
            raise Http404
        return Response(ss.ShareSerializer(studio_reads.share_links_of(generation), many=True).data)


class ShareDetailView(ApiView):
    @extend_schema(responses={204: None, **ERRORS}, examples=[NOT_FOUND_EXAMPLE], tags=["shares"],
                   description="Revoke the link (owner of the video only; others get 404): it answers 404 from now "
                   "on, as for a link that never existed.")
    def delete(self, request, pk):
        share = studio_reads.owned_share_link(request.user, pk)
        if share is None:
            raise Http404
        shares.revoke_share_link(share=share, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _collection_body(request, collection: Collection, covers: dict | None = None) -> dict:
    if covers is None:
        covers = studio_reads.collection_covers(request.user, [collection])
    return ss.CollectionSerializer(collection, context={"request": request, "covers": covers}).data


class CollectionListView(ApiView):
    throttle_scopes = {"GET": "list"}

    @extend_schema(responses={200: ss.CollectionSerializer(many=True), **ERRORS}, tags=["collections"],
                   examples=[COLLECTION_EXAMPLE], description="Your collections and your teams' collections.")
    def get(self, request):
        rows = list(studio_reads.collections_of(request.user))
        covers = studio_reads.collection_covers(request.user, rows)
        return Response(ss.CollectionSerializer(rows, many=True, context={"request": request, "covers": covers})
                        .data)

    @extend_schema(request=ss.CollectionInputSerializer, responses={201: ss.CollectionSerializer, **WRITE_ERRORS},
                   examples=[OpenApiExample("Team collection", request_only=True,
                                            value={"name": "Client picks", "team": "studio"}), COLLECTION_EXAMPLE],
                   tags=["collections"])
    def post(self, request):
        values = self.valid_input(ss.CollectionInputSerializer)
        collection = collections.create_collection(user=request.user, name=values["name"],
                                                   team=values.get("team") or None)
        collection = studio_reads.get_collection(request.user, collection.pk)
        return Response(_collection_body(request, collection), status=status.HTTP_201_CREATED)


class CollectionView(ApiView):
    def collection(self, pk) -> Collection:
        collection = studio_reads.get_collection(self.request.user, pk)
        if collection is None:
            raise Http404
        return collection


class CollectionDetailView(CollectionView):
    throttle_scopes = {"GET": "list"}

    pagination_class = Pagination

    @extend_schema(parameters=[OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
                   responses={200: ss.CollectionSerializer, **ERRORS}, tags=["collections"],
                   examples=[OpenApiExample("Page one", response_only=True, status_codes=["200"], value={
                       **COLLECTION_EXAMPLE.value, "next": None, "previous": None,
                       "results": ["… each video as in GET /api/v1/generations/{id}/ …"]})],
                   description="The collection, with its videos paginated as `count/next/previous/results` "
                   "(most recently added first).")
    def get(self, request, pk):
        collection = self.collection(pk)
        qs = studio_reads.collection_generations(request.user, collection)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        context = {"request": request, "queue_positions": queue_positions(page),
                   "collection_ids": studio_reads.collection_ids_for(request.user, [g.pk for g in page])}
        body = _collection_body(request, collection)
        body.update(count=paginator.page.paginator.count, next=paginator.get_next_link(),
                    previous=paginator.get_previous_link(),
                    results=s.GenerationSerializer(page, many=True, context=context).data)
        return Response(body)

    @extend_schema(request=ss.CollectionPatchSerializer, responses={200: ss.CollectionSerializer, **WRITE_ERRORS},
                   examples=[OpenApiExample("Rename", request_only=True, value={"name": "Final cut"}),
                             COLLECTION_EXAMPLE],
                   tags=["collections"], description="Rename it: its creator, or for a team collection the team's "
                   "owners and admins (others who may open it get 403 `not_allowed`).")
    def patch(self, request, pk):
        collection = self.collection(pk)
        values = self.valid_input(ss.CollectionPatchSerializer)
        collections.rename_collection(collection=collection, user=request.user, name=values["name"])
        return Response(_collection_body(request, self.collection(pk)))

    @extend_schema(responses={204: None, **WRITE_ERRORS}, examples=[NOT_FOUND_EXAMPLE], tags=["collections"],
                   description="Delete the collection; its videos stay.")
    def delete(self, request, pk):
        collections.delete_collection(collection=self.collection(pk), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CollectionItemsView(CollectionView):
    @extend_schema(request=ss.CollectionItemsInputSerializer,
                   responses={200: ss.CollectionItemsSerializer, **WRITE_ERRORS}, tags=["collections"],
                   examples=[OpenApiExample("Two videos", request_only=True, value={"generations": [
                       "0f8c7d36-52a3-4a8e-9a5e-2b1f0d4c6e71", "7a1e2b3c-4d5e-4f60-8a9b-0c1d2e3f4a5b"]}),
                             OpenApiExample("Added", response_only=True, status_codes=["200"],
                                            value={"added": 2, "count": 5})],
                   description="Add videos you can see (for a team collection: the team's videos). "
                   "Adding one twice is harmless.")
    def post(self, request, pk):
        collection = self.collection(pk)
        values = self.valid_input(ss.CollectionItemsInputSerializer)
        added = collections.add_to_collection(collection=collection, user=request.user,
                                              generation_ids=values["generations"])
        return Response({"added": added, "count": self.collection(pk).count})


class CollectionItemView(CollectionView):
    @extend_schema(responses={204: None, **ERRORS}, examples=[NOT_FOUND_EXAMPLE], tags=["collections"],
                   description="Take a video out of the collection; the video stays.")
    def delete(self, request, pk, generation_id):
        collections.remove_from_collection(collection=self.collection(pk), user=request.user,
                                           generation_id=generation_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class FrameView(ApiView):
    throttle_scopes = {"POST": "upload"}

    @extend_schema(request=ss.FrameInputSerializer,
                   responses={201: ss.FrameSerializer, 502: s.ErrorSerializer,
                              503: OpenApiResponse(s.ErrorSerializer, description="Frames unavailable here."),
                              **WRITE_ERRORS},
                   examples=[OpenApiExample("The last frame", request_only=True, value={"at": "last"}),
                             OpenApiExample("At 2.5 s", request_only=True, value={"at": 2.5}),
                             OpenApiExample("A frame at GMI", response_only=True, status_codes=["201"], value={
                                 "url": "https://storage.googleapis.com/gmi-uploads/frame.png", "file_type": "png",
                                 "width": 1280, "height": 720, "at": 8.0})],
                   tags=["generations"],
                   description="Take a frame of the mirrored video as a PNG, uploaded through GMI's upload API, "
                   "ready to be the image input of the next job. 400 `no_video` before the video is ready.")
    def post(self, request, pk):
        generation = self.visible_generation(pk, staff_sees_all=False)
        values = self.valid_input(ss.FrameInputSerializer)
        frame = frames.take_frame(generation=generation, user=request.user,
                                  at=values.get("at", frames.LAST))
        return Response({"url": frame.upload.public_url, "file_type": "png", "width": frame.width,
                         "height": frame.height, "at": round(frame.at, 3)}, status=status.HTTP_201_CREATED)
