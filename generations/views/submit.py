"""The submit page: a model picker, a form built from the model's parameter schema, and its refusals."""
from __future__ import annotations

import uuid
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.utils import formats
from django.views.decorators.http import require_http_methods

from .. import refusals
from ..context_processors import member_state
from ..exceptions import (
    GenerationError,
    IdempotencyConflict,
    InvalidInput,
    PayloadInvalid,
    ReferenceUploadFailed,
)
from ..forms import ParameterForm, SubmitForm
from ..gmi import schema
from ..models import Generation
from ..request_limits import BodyLimit, body_limit
from ..selectors import catalogue as catalogue_reads
from ..selectors import generations as generation_reads
from ..services import submissions, uploads
from ..templatetags.generations_tags import api_url
from ..types import AuthenticatedHttpRequest
from .base import render_page


@login_required
@require_http_methods(["GET", "POST"])
# Without JavaScript the form carries its files itself.
@body_limit(BodyLimit(max_bytes=uploads.upload_request_max_bytes))
def submit(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The submit page: a model picker and a form built from that model's parameter schema."""
    state = member_state(request)
    models = list(catalogue_reads.enabled_models())
    source = None
    source_id = request.POST.get("rerun_of") if request.method == "POST" else request.GET.get("from")
    if source_id:
        source = generation_reads.get_visible_generation(request.user, source_id)
        if source is None:
            raise Http404("No such generation.")
    wanted = (request.POST.get("model") if request.method == "POST" else request.GET.get("model")) or (
        source.model_id if source else "")
    model = next((m for m in models if m.pk == wanted), None)
    if model is None and wanted and request.method == "GET":
        messages.warning(request, f"The model “{wanted}” is not available at the moment; pick another one.")
    if model is None and request.method == "GET" and models:
        model = models[0]
    params = schema.read_parameters(model.parameters) if model is not None else []

    prefill = source.payload if source is not None and model is not None and source.model_id == model.pk else None
    prefill = _with_frame(request, params, prefill)
    initial_team = None
    if source is not None and source.team is not None:
        initial_team = state.team(source.team.slug)
    elif source is None:
        initial_team = state.current_team
    initial = {
        "model": model.pk if model else "",
        "team": initial_team.slug if initial_team else "",
        "visibility": (source.visibility if source is not None and initial_team else
                       Generation.Visibility.TEAM if initial_team else Generation.Visibility.PRIVATE),
        "rerun_of": source.pk if source else None,
        "idempotency_key": uuid.uuid4().hex,
    }
    top_errors: list[str] = []
    if request.method == "POST":
        submit_form = SubmitForm(request.POST, models=models, teams=state.teams, initial=initial)
        param_form = ParameterForm(params, request.POST, request.FILES, payload=None)
        if model is None:
            top_errors.append("This model is not available any more. Choose another one.")
        elif submit_form.is_valid() and param_form.is_valid():
            generation = _submit(request, model=model, source=source, submit_form=submit_form,
                                 param_form=param_form, top_errors=top_errors)
            if generation is not None:
                messages.success(request, "Your video is queued. This page updates as it runs.")
                return redirect("generations:detail", pk=generation.pk)
        elif not submit_form.is_valid() and "model" in submit_form.errors:
            top_errors.append("Choose one of the models in the list.")
    else:
        submit_form = SubmitForm(models=models, teams=state.teams, initial=initial)
        param_form = ParameterForm(params, payload=prefill)

    return render_page(request, "generations/submit.html", {
        "models": models,
        "model": model,
        "params": params,
        "submit_form": submit_form,
        "param_form": param_form,
        "top_errors": top_errors,
        "source": source,
        "teams": state.teams,
        "price": _price_text(model),
        "quote_url": api_url("generation-quote"),
        "upload_url": api_url("upload"),
    }, nav="submit")


def _with_frame(request: AuthenticatedHttpRequest, params: list, prefill: Any) -> Any:
    """``?frame=<upload id>`` (a frame taken of a video): its URL goes into the model's image input."""
    upload = generation_reads.own_upload(request.user, request.GET.get("frame")) if request.method == "GET" else None
    image = catalogue_reads.image_parameter(params) if upload is not None else None
    if upload is None or image is None:
        return prefill
    return {**(prefill or {}), image.name: [upload.public_url] if image.multiple else upload.public_url}


def _keep_link(param_form: ParameterForm, name: str, value: Any) -> None:
    # Should the job be refused, the page keeps the links: the files need no second upload.
    param_form.data = cast(QueryDict, param_form.data).copy()
    param_form.data[param_form.add_prefix(name)] = "\n".join(value) if isinstance(value, list) else value


def _submit(request: AuthenticatedHttpRequest, *, model: Any, source: Generation | None, submit_form: SubmitForm,
            param_form: ParameterForm, top_errors: list[str]) -> Generation | None:
    """Call the submission service; on refusal attach its messages to the forms and return None."""
    files = param_form.uploads(request.FILES)
    try:
        payload = param_form.payload()
        for name, posted in files.items():
            payload[name] = uploads.reference_value(user=request.user, name=name, posted=posted,
                                                    existing=payload.get(name),
                                                    multiple=param_form.by_name[name].multiple)
            _keep_link(param_form, name, payload[name])
        return submissions.submit_generation(
            user=request.user, model_id=model.pk, payload=payload,
            team=submit_form.cleaned_data["team"] or None,
            visibility=submit_form.cleaned_data["visibility"],
            idempotency_key=submit_form.cleaned_data["idempotency_key"] or None,
            rerun_of=source,
        )
    except ReferenceUploadFailed as exc:
        param_form.add_error(exc.field, refusals.page_words(exc))
    except PayloadInvalid as exc:
        for name, problems in param_form.add_service_errors(exc.errors).items():
            if name in submit_form.fields:
                for problem in problems:
                    submit_form.add_error(name, problem)
            elif name == schema.NON_FIELD_ERRORS:
                top_errors.extend(problems)
            else:
                top_errors.extend(f"{name}: {problem}" for problem in problems)
        if not top_errors:
            top_errors.append("Some parameters need another look: see the messages next to them.")
    except InvalidInput as exc:
        for name, problems in exc.errors.items():
            for problem in problems:
                if name in submit_form.fields:
                    submit_form.add_error(name, problem)
                else:
                    top_errors.append(problem)
    except IdempotencyConflict:
        top_errors.append("This form was already sent once. Check your gallery, or send it again now.")
        submit_form.data = cast(QueryDict, submit_form.data).copy()
        submit_form.data["idempotency_key"] = uuid.uuid4().hex
    except GenerationError as exc:  # QuotaExceeded, ModelUnavailable, NotAllowed, PromptBlocked ...
        top_errors.append(refusals.page_words(exc))
    return None


def _price_text(model: Any) -> str:
    if model is None or not model.price_credits:
        return "No credits charged"
    amount = formats.number_format(model.price_credits, decimal_pos=0 if model.price_credits == int(
        model.price_credits) else 2)
    return f"{amount} credits per second of video" if model.price_unit == "second" else f"{amount} credits per job"
