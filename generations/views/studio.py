"""Studio pages: batch upload and progress, compare, collections, share links and "use a frame"."""
from __future__ import annotations

import json
import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from .. import permissions, refusals
from ..context_processors import member_state
from ..exceptions import GenerationError, InvalidInput
from ..forms import ParameterForm
from ..forms.studio import (
    BatchConfirmForm,
    BatchUploadForm,
    CollectionForm,
    CompareForm,
    FrameForm,
    ShareForm,
)
from ..gmi import schema
from ..models import Batch, Collection, Generation
from ..request_limits import BodyLimit, body_limit
from ..selectors import catalogue as catalogue_reads
from ..selectors import generations as generation_reads
from ..selectors import studio as studio_reads
from ..services import batches, collections, frames, shares, uploads
from ..templatetags.generations_tags import api_url
from ..types import AuthenticatedHttpRequest
from .base import attempt, found_or_404, own_generation_or_404, render_page


def _batch_or_404(request: AuthenticatedHttpRequest, pk: Any) -> Batch:
    return found_or_404(studio_reads.batch_of(request.user, pk), "batch")


# ---------------------------------------------------------------- batches


@login_required
@require_http_methods(["GET", "POST"])
def batch_upload(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Upload a CSV or JSON of jobs, see every row with its problems, then submit them all at once."""
    state = member_state(request)
    preview = None
    confirm = None
    top_errors: list[str] = []
    form = BatchUploadForm(teams=state.teams)
    if request.method == "POST" and request.POST.get("step") == "submit":
        confirm = BatchConfirmForm(request.POST)
        if confirm.is_valid():
            values = confirm.cleaned_data
            try:
                batch = batches.submit_batch(user=request.user, items=values["items"], team=values["team"] or None,
                                             visibility=values["visibility"] or None,
                                             idempotency_key=values["idempotency_key"])
            except GenerationError as exc:
                top_errors.append(refusals.page_words(exc))
                preview = _preview(request, values["items"], values["team"], top_errors)
            else:
                messages.success(request, f"{batch.size} videos are queued. This page follows them as they run.")
                return redirect("generations:batch", pk=batch.pk)
        else:
            top_errors.append("The previewed jobs were damaged: upload the file again.")
    elif request.method == "POST":
        form = BatchUploadForm(request.POST, request.FILES, teams=state.teams)
        if form.is_valid():
            values = form.cleaned_data
            preview = _preview(request, values["items"], values["team"], top_errors)
            if preview is not None and preview["valid"]:
                confirm = BatchConfirmForm(initial={
                    "items": json.dumps(values["items"]), "team": values["team"],
                    "visibility": values["visibility"], "idempotency_key": uuid.uuid4().hex})
    return render_page(request, "generations/studio/batch_upload.html", {
        "form": form, "preview": preview, "confirm": confirm, "top_errors": top_errors,
    }, nav="submit")


def _preview(request: AuthenticatedHttpRequest, items: Any, team: str, top_errors: list[str]) -> dict | None:
    try:
        return batches.preview_batch(user=request.user, items=items, team=team or None)
    except InvalidInput as exc:
        top_errors.extend(p for problems in exc.errors.values() for p in problems)
    except GenerationError as exc:
        top_errors.append(refusals.page_words(exc))
    return None


@login_required
def batch_detail(request: AuthenticatedHttpRequest, pk: uuid.UUID) -> HttpResponse:
    """A batch's progress: how many jobs are in each status (live), its videos, and "cancel the rest"."""
    batch = _batch_or_404(request, pk)
    generations = list(studio_reads.batch_generations(batch))
    counts = studio_reads.batch_counts(generations)
    return render_page(request, "generations/studio/batch_detail.html", {
        "batch": batch, "generations": generations,
        "counts": [(status, label, counts[status]) for status, label in Generation.Status.choices],
        "open": sum(counts[s] for s in Generation.ACTIVE),
        "api_url": api_url("batch-detail", batch.pk), "status_url": reverse("generations:status"),
    }, nav="gallery")


@login_required
@require_POST
def batch_cancel(request: AuthenticatedHttpRequest, pk: uuid.UUID) -> HttpResponse:
    batch = _batch_or_404(request, pk)
    cancelled = batches.cancel_batch(batch=batch, actor=request.user)
    messages.success(request, f"{len(cancelled)} jobs that had not ended were cancelled; their usage was given back."
                     if cancelled else "No job was left to cancel.")
    return redirect("generations:compare-detail" if batch.kind == Batch.Kind.COMPARE else "generations:batch",
                    pk=batch.pk)


# ---------------------------------------------------------------- compare


def _special_params(params: list) -> tuple[Any, Any]:
    """The model's prompt parameter and its (single) image input, either None when it has none."""
    # The schema's own rule for "the prompt": the name whose value it reads as the prompt text.
    prompt = next((p for p in params if p.kind in ("text", "string") and schema.prompt_text({p.name: "x"}) == "x"),
                  None)
    return prompt, catalogue_reads.image_parameter(params)


@login_required
@require_http_methods(["GET", "POST"])
# Without JavaScript the form carries its reference image itself.
@body_limit(BodyLimit(max_bytes=uploads.upload_request_max_bytes))
def compare_form(request: AuthenticatedHttpRequest) -> HttpResponse:
    """One prompt (and an optional image) to 2-4 models, each with its own parameters where they differ."""
    state = member_state(request)
    models = list(catalogue_reads.enabled_models())
    data = request.POST if request.method == "POST" else None
    form = CompareForm(data, request.FILES if data is not None else None, models=models, teams=state.teams,
                       initial={"idempotency_key": uuid.uuid4().hex,
                                "team": state.current_team.slug if state.current_team else ""})
    sections = []
    for model in models:
        params = schema.read_parameters(model.parameters)
        prompt, image = _special_params(params)
        own = [p for p in params if p not in (prompt, image)]
        sections.append({"model": model, "prompt": prompt, "image": image,
                         "form": ParameterForm(own, data, prefix=f"m-{model.pk}")})
    top_errors: list[str] = []
    if data is not None and form.is_valid():
        chosen = [s for s in sections if s["model"].pk in form.cleaned_data["models"]]
        if all(s["form"].is_valid() for s in chosen):
            batch = _submit_compare(request, form, chosen, top_errors)
            if batch is not None:
                return redirect("generations:compare-detail", pk=batch.pk)
        else:
            top_errors.append("Some model parameters need another look: see the messages next to them.")
    return render_page(request, "generations/studio/compare_form.html", {
        "form": form, "sections": sections, "top_errors": top_errors,
        "quote_url": api_url("batch-quote"),
    }, nav="submit")


def _submit_compare(request: AuthenticatedHttpRequest, form: CompareForm, chosen: list[dict],
                    top_errors: list[str]) -> Batch | None:
    image_url = None
    try:
        if form.cleaned_data.get("image"):
            image_url = uploads.upload_reference(user=request.user, uploaded_file=form.cleaned_data["image"]).public_url
        items = []
        for section in chosen:
            payload = section["form"].payload()
            if section["prompt"] is not None:
                payload[section["prompt"].name] = form.cleaned_data["prompt"]
            if image_url and section["image"] is not None:
                payload[section["image"].name] = [image_url] if section["image"].multiple else image_url
            items.append({"model": section["model"].pk, "payload": payload})
        return batches.submit_batch(user=request.user, items=items, team=form.cleaned_data["team"] or None,
                                    idempotency_key=form.cleaned_data["idempotency_key"] or None,
                                    kind=Batch.Kind.COMPARE)
    except InvalidInput as exc:
        labels = {f"items[{i}]": s["model"].label for i, s in enumerate(chosen)}
        for key, problems in exc.errors.items():
            head, _, field = key.partition(".")
            where = labels.get(head, "")
            name = field.removeprefix("payload.")
            top_errors.extend(f"{where} – {name}: {p}" if where and name and name != "payload"
                              else f"{where}: {p}" if where else p for p in problems)
    except GenerationError as exc:
        top_errors.append(refusals.page_words(exc))
    return None


@login_required
def compare_detail(request: AuthenticatedHttpRequest, pk: uuid.UUID) -> HttpResponse:
    """The compared videos side by side as they arrive, played in sync, with "keep this one"."""
    batch = _batch_or_404(request, pk)
    generations = list(studio_reads.batch_generations(batch))
    return render_page(request, "generations/studio/compare_detail.html", {
        "batch": batch, "generations": generations,
        "items": [{"generation": g, "video_url": api_url("generation-video", g.pk)
                   if permissions.may_see_files(request.user, g) else "",
                   "thumbnail_url": api_url("generation-thumbnail", g.pk)
                   if permissions.may_see_files(request.user, g) and g.thumbnail_name else ""} for g in generations],
        "active": any(g.is_active for g in generations),
        "api_url": api_url("batch-detail", batch.pk),
    }, nav="gallery")


@login_required
@require_POST
def compare_keep(request: AuthenticatedHttpRequest, pk: uuid.UUID, generation_id: uuid.UUID) -> HttpResponse:
    batch = _batch_or_404(request, pk)
    generation = studio_reads.batch_generations(batch).filter(pk=generation_id).first()
    if generation is None:
        raise Http404("No such video in this compare.")
    deleted = batches.keep_compare_choice(batch=batch, generation=generation, user=request.user,
                                          delete_others=request.POST.get("delete_others") == "1")
    messages.success(request, "Starred." + (f" {deleted} other videos were deleted." if deleted else ""))
    return redirect("generations:compare-detail", pk=batch.pk)


# ---------------------------------------------------------------- collections


def _collection_or_404(request: AuthenticatedHttpRequest, pk: Any) -> Collection:
    return found_or_404(studio_reads.get_collection(request.user, pk), "collection")


@login_required
@require_http_methods(["GET", "POST"])
def collection_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    state = member_state(request)
    form = CollectionForm(request.POST or None, teams=state.teams)
    if request.method == "POST" and form.is_valid():
        try:
            collection = collections.create_collection(user=request.user, name=form.cleaned_data["name"],
                                                       team=form.cleaned_data["team"] or None)
        except InvalidInput as exc:
            for name, problems in exc.errors.items():
                for problem in problems:
                    form.add_error(name if name in form.fields else None, problem)
        except GenerationError as exc:
            form.add_error(None, refusals.page_words(exc))
        else:
            messages.success(request, f"The collection “{collection.name}” was created.")
            return redirect("generations:collection", pk=collection.pk)
    rows = list(studio_reads.collections_of(request.user))
    covers = studio_reads.collection_covers(request.user, rows)
    return render_page(request, "generations/studio/collections.html", {
        "form": form, "collections": [{"collection": c, "cover": covers.get(c.pk)} for c in rows],
    }, nav="gallery")


@login_required
@require_http_methods(["GET", "POST"])
def collection_detail(request: AuthenticatedHttpRequest, pk: uuid.UUID) -> HttpResponse:
    """A collection's videos; rename it (POST ``name``)."""
    collection = _collection_or_404(request, pk)
    if request.method == "POST":
        try:
            collections.rename_collection(collection=collection, user=request.user, name=request.POST.get("name"))
        except GenerationError as exc:
            messages.error(request, refusals.page_words(exc))
        else:
            messages.success(request, "Renamed.")
        return redirect("generations:collection", pk=collection.pk)
    videos = studio_reads.collection_generations(request.user, collection)
    page = Paginator(videos, 24).get_page(request.GET.get("page"))
    return render_page(request, "generations/studio/collection_detail.html", {
        "collection": collection, "page": page, "generations": list(page.object_list),
        "may_manage": permissions.may_manage_collection(request.user, collection),
    }, nav="gallery")


@login_required
@require_POST
def collection_delete(request: AuthenticatedHttpRequest, pk: uuid.UUID) -> HttpResponse:
    collection = _collection_or_404(request, pk)
    if not attempt(request, lambda: collections.delete_collection(collection=collection, user=request.user),
                   done="The collection was deleted; its videos are still in the gallery."):
        return redirect("generations:collection", pk=collection.pk)
    return redirect("generations:collections")


@login_required
@require_POST
def collection_remove(request: AuthenticatedHttpRequest, pk: uuid.UUID, generation_id: uuid.UUID) -> HttpResponse:
    collection = _collection_or_404(request, pk)
    attempt(request, lambda: collections.remove_from_collection(collection=collection, user=request.user,
                                                                generation_id=generation_id),
            done="Taken out of the collection; the video itself stays.")
    if request.POST.get("next") == "detail":
        return redirect("generations:detail", pk=generation_id)
    return redirect("generations:collection", pk=collection.pk)


@login_required
@require_POST
def collect(request: AuthenticatedHttpRequest, pk: uuid.UUID) -> HttpResponse:
    """From a video's page: add it to one of the member's collections."""
    generation = generation_reads.get_visible_generation(request.user, pk, staff_sees_all=False)
    if generation is None:
        raise Http404("No such generation.")
    collection = _collection_or_404(request, request.POST.get("collection"))
    try:
        added = collections.add_to_collection(collection=collection, user=request.user,
                                              generation_ids=[str(generation.pk)])
    except GenerationError as exc:
        messages.error(request, refusals.page_words(exc))
    else:
        messages.success(request, f"Added to “{collection.name}”." if added else f"Already in “{collection.name}”.")
    return redirect("generations:detail", pk=generation.pk)


# ---------------------------------------------------------------- share links


@login_required
@require_http_methods(["GET", "POST"])
def share_links(request: AuthenticatedHttpRequest, pk: uuid.UUID) -> HttpResponse:
    """The owner's share links of a video: make one (its URL is shown this once), see views, revoke."""
    generation = own_generation_or_404(request, pk)
    form = ShareForm(request.POST or None)
    new_url = ""
    if request.method == "POST" and form.is_valid():
        try:
            _share, token = shares.create_share_link(generation=generation, user=request.user, **form.cleaned_data)
        except GenerationError as exc:
            form.add_error(None, refusals.page_words(exc))
        else:
            new_url = request.build_absolute_uri(reverse("generations:share", args=[token]))
            form = ShareForm()
    response = render_page(request, "generations/studio/share_links.html", {
        "generation": generation, "form": form, "new_url": new_url,
        "links": list(studio_reads.share_links_of(generation)),
        "refusal": studio_reads.sharing_refusal(generation),
    }, nav="gallery")
    response["Cache-Control"] = "no-store"  # the new link is shown once; no cache keeps it
    return response


@login_required
@require_POST
def share_revoke(request: AuthenticatedHttpRequest, pk: uuid.UUID, share_id: uuid.UUID) -> HttpResponse:
    share = studio_reads.owned_share_link(request.user, share_id)
    if share is None or share.generation_id != pk:
        raise Http404("No such share link.")
    shares.revoke_share_link(share=share, user=request.user)
    messages.success(request, "The link was revoked: it no longer opens.")
    return redirect("generations:share-links", pk=pk)


# ---------------------------------------------------------------- frames


@login_required
@require_http_methods(["GET", "POST"])
def use_frame(request: AuthenticatedHttpRequest, pk: uuid.UUID) -> HttpResponse:
    """Pick a moment of a finished video; its frame becomes the image of a new image-to-video job."""
    generation = generation_reads.get_visible_generation(request.user, pk, staff_sees_all=False)
    if generation is None or not permissions.may_see_files(request.user, generation):
        raise Http404("No such video.")
    form = FrameForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            frame = frames.take_frame(generation=generation, user=request.user, at=form.cleaned_data["at"] or "last")
        except InvalidInput as exc:
            for problems in exc.errors.values():
                for problem in problems:
                    form.add_error("at", problem)
        except GenerationError as exc:
            form.add_error(None, refusals.page_words(exc))
        else:
            model = catalogue_reads.image_to_video_model(prefer=generation.model_id)
            query = f"?frame={frame.upload.pk}" + (f"&model={model.pk}" if model else "")
            messages.success(request, "The frame is ready: it is the image of this new job.")
            return redirect(reverse("generations:submit") + query)
    return render_page(request, "generations/studio/use_frame.html", {
        "generation": generation, "form": form, "video_url": api_url("generation-video", generation.pk),
    }, nav="gallery")
