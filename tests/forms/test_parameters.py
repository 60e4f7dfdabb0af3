"""The submit page: a form built only from the model's parameter schema, and server-side errors."""
from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from generations.forms import ParameterForm, widget_for
from generations.gmi.schema import Parameter, read_parameters
from generations.models import BlockedTerm, Generation, Membership, VideoModel
from generations.selectors import catalogue as catalogue_reads
from generations.services.accounts import profile_for
from gmi_simulator import media
from tests.helpers.factories import (
    GenerationFactory,
    MembershipFactory,
    TeamFactory,
    VideoModelFactory,
)
from tests.helpers.settings import override_generations

# The image URLs below must resolve to a public address to pass the address policy.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("public_dns")]

EVERY_KIND = [
    {"name": "prompt", "display_name": "Prompt", "type": "string", "required": True,
     "description": "What should happen."},
    {"name": "aspect_ratio", "display_name": "Aspect ratio", "type": "string", "options": ["16:9", "9:16"],
     "default": "16:9"},
    {"name": "duration", "display_name": "Duration", "type": "integer", "options": [5, 10], "default": 5},
    {"name": "cfg_scale", "display_name": "CFG scale", "type": "float", "min": 0, "max": 1, "step": 0.1,
     "default": 0.5},
    {"name": "steps", "display_name": "Steps", "type": "integer", "minimum": 10, "maximum": 50},
    {"name": "generate_audio", "display_name": "Generate audio", "type": "boolean", "default": True},
    {"name": "image_url", "display_name": "Image", "type": "image", "required": True, "file_types": ["png", "jpeg"]},
    {"name": "reference_images", "display_name": "References", "type": "array<image>"},
    {"name": "callback", "display_name": "Callback", "type": "url"},
    {"name": "style", "display_name": "Style", "type": "string"},
    {"name": "camera_path", "display_name": "Camera path", "type": "json_path"},
    {"name": "tags", "display_name": "Tags", "type": "array", "items": {"type": "string"}},
]

VALID_POST = {
    "model": "Kitchen-Sink",
    "p-prompt": "a paper boat on a river",
    "p-aspect_ratio": '"9:16"',
    "p-duration": "10",
    "p-cfg_scale": "0.7",
    "p-steps": "20",
    "p-generate_audio": "on",
    "p-image_url": "https://cdn.example.com/boat.png",
    "p-reference_images": "https://cdn.example.com/a.png\nhttps://cdn.example.com/b.png",
    "p-callback": "",
    "p-style": "watercolour",
    "p-camera_path": '{"points": [1, 2]}',
    "p-tags": "calm, river",
    "team": "",
    "visibility": "private",
}


@pytest.fixture
def member(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def sink():
    return VideoModelFactory(id="Kitchen-Sink", parameters=EVERY_KIND, detailed_description=(
        "## Kitchen sink\n\nEvery **kind** of input.\n\n<script>alert('x')</script>"
        "<a href=\"javascript:alert(1)\">bad link</a>"))


def _control(html: str, name: str) -> str:
    """The opening tag of the form control named ``name``."""
    match = re.search(rf'<(input|select|textarea)[^>]*name="{re.escape(name)}"[^>]*>', html)
    assert match, f"no control named {name}"
    return match.group(0)


def test_form_renders_a_control_for_every_kind_of_parameter(member, sink):
    html = member.get(reverse("generations:submit"), {"model": "Kitchen-Sink"}).content.decode()

    assert _control(html, "p-prompt").startswith("<textarea")
    assert "required" in _control(html, "p-prompt")
    select = _control(html, "p-aspect_ratio")
    assert select.startswith("<select")
    assert '<option value="&quot;16:9&quot;" selected>16:9</option>' in html
    assert '<option value="10">10</option>' in html  # option values keep their JSON types
    cfg = _control(html, "p-cfg_scale")
    assert 'type="number"' in cfg and 'min="0"' in cfg and 'max="1"' in cfg and 'step="0.1"' in cfg
    assert 'value="0.5"' in cfg
    steps = _control(html, "p-steps")
    assert 'min="10"' in steps and 'max="50"' in steps and 'step="1"' in steps
    audio = _control(html, "p-generate_audio")
    assert 'type="checkbox"' in audio and "checked" in audio
    image = _control(html, "p-image_url")
    assert 'type="url"' in image
    upload = _control(html, "p-image_url__file")
    assert 'type="file"' in upload and 'accept="image/png,.png,image/jpeg,.jpg,.jpeg"' in upload
    assert "multiple" in _control(html, "p-reference_images__file")
    assert _control(html, "p-reference_images").startswith("<textarea")
    assert 'type="url"' in _control(html, "p-callback")
    assert 'type="text"' in _control(html, "p-style")
    assert 'type="text"' in _control(html, "p-camera_path")
    assert "sent as typed" in html  # the unknown type is said, not hidden
    assert 'type="text"' in _control(html, "p-tags")


def test_form_shows_labels_required_marks_help_and_ranges(member, sink):
    html = member.get(reverse("generations:submit"), {"model": "Kitchen-Sink"}).content.decode()

    assert "What should happen." in html
    assert "(required)" in html
    assert "0 to 1; step 0.1; default 0.5" in html
    assert "One link per line" in html


def test_model_description_is_rendered_from_markdown_and_sanitised(member, sink):
    html = member.get(reverse("generations:submit"), {"model": "Kitchen-Sink"}).content.decode()

    assert "<h2>Kitchen sink</h2>" in html
    assert "<strong>kind</strong>" in html
    assert "<script>alert" not in html
    assert "javascript:alert" not in html


def test_model_picker_lists_enabled_models_only(member, sink):
    VideoModelFactory(id="Veo3")
    VideoModelFactory(id="Old-Model", enabled=False)

    html = member.get(reverse("generations:submit")).content.decode()

    assert '<option value="Veo3"' in html and '<option value="Kitchen-Sink"' in html
    assert "Old-Model" not in html


@pytest.mark.parametrize("raw", [
    "not json at all",
    {"weird": 5},
    [1, 2, "", None],
    "null",
    [{"name": "x", "type": "string", "options": {"bad": {"nested": True}}, "min": "a", "max": [1]},
     {"display_name": "no name"}],
    {"type": "object", "properties": {"prompt": True, "n": {"type": ["integer", "null"]}}},
])
def test_a_malformed_schema_still_renders_a_usable_form(member, raw):
    VideoModelFactory(id="Broken", parameters=raw)

    response = member.get(reverse("generations:submit"), {"model": "Broken"})

    assert response.status_code == 200
    assert 'name="p-' in response.content.decode()


def test_an_unreadable_schema_offers_a_prompt_and_a_json_object(member, user):
    VideoModelFactory(id="Broken", parameters="{{{")

    html = member.get(reverse("generations:submit"), {"model": "Broken"}).content.decode()
    assert 'name="p-prompt"' in html and 'name="p-__payload_json"' in html
    response = member.post(reverse("generations:submit"), {
        "model": "Broken", "p-prompt": "a comet", "p-__payload_json": '{"duration": 5}', "visibility": "private"})

    assert response.status_code == 302
    assert Generation.objects.get().payload == {"prompt": "a comet", "duration": 5}


def test_invalid_json_in_the_free_form_is_shown_and_nothing_is_created(member):
    VideoModelFactory(id="Broken", parameters={})

    response = member.post(reverse("generations:submit"), {
        "model": "Broken", "p-prompt": "a comet", "p-__payload_json": '{"duration": ', "visibility": "private"})

    assert response.status_code == 200
    assert "not valid JSON" in response.content.decode()
    assert not Generation.objects.exists()


def test_parameter_form_converts_values_to_json_types():
    params = read_parameters(EVERY_KIND)
    form = ParameterForm(params, {key: value for key, value in VALID_POST.items() if key.startswith("p-")})

    assert form.is_valid(), form.errors
    assert form.payload() == {
        "prompt": "a paper boat on a river",
        "aspect_ratio": "9:16",
        "duration": 10,
        "cfg_scale": 0.7,
        "steps": 20,
        "generate_audio": True,
        "image_url": "https://cdn.example.com/boat.png",
        "reference_images": ["https://cdn.example.com/a.png", "https://cdn.example.com/b.png"],
        "style": "watercolour",
        "camera_path": {"points": [1, 2]},
        "tags": ["calm", "river"],
    }


def test_parameter_form_sends_an_unticked_checkbox_as_false_and_leaves_blanks_out():
    form = ParameterForm(read_parameters(EVERY_KIND), {"p-prompt": "x", "p-aspect_ratio": "", "p-steps": " "})

    assert form.is_valid()
    assert form.payload() == {"prompt": "x", "generate_audio": False}


def test_parameter_form_keeps_what_is_not_a_number_for_the_service_to_explain():
    form = ParameterForm(read_parameters(EVERY_KIND), {"p-steps": "twenty", "p-cfg_scale": "1e-1"})

    assert form.is_valid()
    assert form.payload()["steps"] == "twenty"
    assert form.payload()["cfg_scale"] == 0.1


def test_string_options_stay_strings_and_number_options_stay_numbers():
    params = read_parameters([{"name": "duration", "type": "string", "options": ["5", "10"]},
                              {"name": "fps", "type": "integer", "options": [24, 30]}])
    form = ParameterForm(params, {"p-duration": '"10"', "p-fps": "30"})

    assert form.is_valid()
    assert form.payload() == {"duration": "10", "fps": 30}


def test_server_side_errors_appear_next_to_their_fields_and_nothing_is_created(member, sink):
    data = {**VALID_POST, "p-prompt": "   ", "p-steps": "75", "p-cfg_scale": "0.25", "p-image_url": "ftp://x/y.png",
            "p-style": "kept as typed"}

    response = member.post(reverse("generations:submit"), data)

    assert response.status_code == 200
    assert not Generation.objects.exists()
    form = response.context["param_form"]
    assert form.errors["prompt"] == ["This parameter is required."]
    assert form.errors["steps"] == ["Must be between 10 and 50."]
    assert "multiple of 0.1" in form.errors["cfg_scale"][0]
    assert "http(s) URL" in form.errors["image_url"][0]
    html = response.content.decode()
    assert "Must be between 10 and 50." in html
    assert 'value="kept as typed"' in html  # what the user typed is kept
    assert 'value="75"' in html


def test_over_quota_is_refused_at_the_top_of_the_form(member, sink):
    with override_generations(DEFAULT_LIMITS={"daily_jobs": 0}):
        response = member.post(reverse("generations:submit"), VALID_POST)

    assert response.status_code == 200
    assert "limit (jobs today)" in response.context["top_errors"][0]
    assert "resets on" in response.context["top_errors"][0]
    assert not Generation.objects.exists()


def test_a_blocked_prompt_is_refused_with_a_message(member, sink):
    BlockedTerm.objects.create(term="river", normalized="river")

    response = member.post(reverse("generations:submit"), VALID_POST)

    assert response.context["top_errors"] == ["The prompt contains a term that is not allowed on this site."]
    assert not Generation.objects.exists()


def test_an_unapproved_account_is_told_it_waits_for_approval(member, user, sink):
    profile = profile_for(user)
    profile.approved = False
    profile.save()

    response = member.post(reverse("generations:submit"), VALID_POST)

    assert "waiting for approval" in response.content.decode()
    assert not Generation.objects.exists()


def test_a_valid_submission_is_queued_and_opens_its_page(member, user, sink):
    response = member.post(reverse("generations:submit"), VALID_POST)

    generation = Generation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("generations:detail", args=[generation.pk])
    assert generation.owner == user and generation.status == Generation.Status.QUEUED
    assert generation.payload["duration"] == 10 and generation.payload["aspect_ratio"] == "9:16"
    assert generation.visibility == Generation.Visibility.PRIVATE


def test_a_double_click_creates_one_generation(member, sink):
    data = {**VALID_POST, "idempotency_key": "form-123"}

    first = member.post(reverse("generations:submit"), data)
    second = member.post(reverse("generations:submit"), data)

    assert Generation.objects.count() == 1
    assert first["Location"] == second["Location"]


def test_sharing_with_a_team(member, user, sink):
    team = TeamFactory(slug="studio")
    MembershipFactory(team=team, user=user)

    member.post(reverse("generations:submit"), {**VALID_POST, "team": "studio", "visibility": "team"})

    generation = Generation.objects.get()
    assert generation.team == team and generation.visibility == Generation.Visibility.TEAM


def test_team_visibility_without_a_team_is_explained_next_to_the_choice(member, user, sink):
    team = TeamFactory(slug="studio")
    MembershipFactory(team=team, user=user)

    response = member.post(reverse("generations:submit"), {**VALID_POST, "team": "", "visibility": "team"})

    assert "Choose a team" in response.context["submit_form"].errors["visibility"][0]
    assert not Generation.objects.exists()


def test_submit_form_preselects_the_current_team(member, user, sink):
    team = TeamFactory(slug="studio", name="Studio")
    MembershipFactory(team=team, user=user)
    member.post(reverse("generations:switch-team"), {"team": "studio"})

    html = member.get(reverse("generations:submit")).content.decode()

    assert '<option value="studio" selected>Studio</option>' in html
    assert re.search(r'<input type="radio" name="visibility" value="team"[^>]*checked', html)


def test_run_again_prefills_model_and_payload(member, user, sink):
    VideoModelFactory(id="Veo3")  # first in the picker otherwise
    source = GenerationFactory(owner=user, model=sink, succeeded=True, payload={
        "prompt": "a glass city", "aspect_ratio": "9:16", "duration": 10, "generate_audio": False,
        "reference_images": ["https://a.example/1.png", "https://a.example/2.png"], "camera_path": {"k": 1}})

    response = member.get(reverse("generations:submit"), {"from": str(source.pk)})

    html = response.content.decode()
    assert response.context["model"].pk == "Kitchen-Sink"
    assert "a glass city</textarea>" in html
    assert '<option value="&quot;9:16&quot;" selected>' in html
    assert '<option value="10" selected>' in html
    assert "checked" not in _control(html, "p-generate_audio")
    assert "https://a.example/1.png\nhttps://a.example/2.png</textarea>" in html
    assert "{&quot;k&quot;: 1}" in html
    assert f'name="rerun_of" value="{source.pk}"' in html


def test_run_again_records_where_it_came_from(member, user, sink):
    source = GenerationFactory(owner=user, model=sink, succeeded=True)

    member.post(reverse("generations:submit") + f"?from={source.pk}", {**VALID_POST, "rerun_of": str(source.pk)})

    assert Generation.objects.exclude(pk=source.pk).get().rerun_of == source


def test_run_again_from_a_generation_the_member_may_not_see_is_404(member, other_user, sink):
    source = GenerationFactory(owner=other_user, model=sink)

    assert member.get(reverse("generations:submit"), {"from": str(source.pk)}).status_code == 404


def test_run_again_of_a_teammates_video_keeps_the_team(member, user, other_user, sink):
    team = TeamFactory(slug="studio", name="Studio")
    MembershipFactory(team=team, user=user, role=Membership.Role.MEMBER)
    MembershipFactory(team=team, user=other_user)
    source = GenerationFactory(owner=other_user, model=sink, team=team, visibility=Generation.Visibility.TEAM)

    html = member.get(reverse("generations:submit"), {"from": str(source.pk)}).content.decode()

    assert '<option value="studio" selected>Studio</option>' in html


def test_an_unavailable_model_is_refused_with_a_message(member, sink):
    VideoModelFactory(id="Gone", enabled=False)

    response = member.post(reverse("generations:submit"), {**VALID_POST, "model": "Gone"})

    assert response.status_code == 200
    assert "not available" in " ".join(response.context["top_errors"])
    assert not Generation.objects.exists()


def test_the_submit_page_points_its_scripts_at_the_api(member, sink):
    html = member.get(reverse("generations:submit")).content.decode()

    assert 'data-quote-url="/api/v1/generations/quote/"' in html
    assert 'data-upload-url="/api/v1/uploads/"' in html
    assert "data-summary" in html and "data-quote" in html


def test_the_simulator_catalogue_renders_for_every_model(member, catalogue):
    for model in catalogue_reads.enabled_models():
        response = member.get(reverse("generations:submit"), {"model": model.pk})
        assert response.status_code == 200, model.pk
        assert response.context["model"].pk == model.pk


def test_a_file_posted_with_the_form_is_uploaded_and_its_url_submitted(member, user, catalogue):
    model = next(m for m in VideoModel.objects.filter(enabled=True)
                 if any(p.kind == "file" and not p.multiple for p in read_parameters(m.parameters)))
    params = read_parameters(model.parameters)
    file_param = next(p for p in params if p.kind == "file" and not p.multiple)
    form = ParameterForm(params, payload=None)
    data = {"model": model.pk, "visibility": "private"}
    for name, field in form.fields.items():
        initial = field.initial
        if field.gmi_widget_kind == "boolean":
            if initial:
                data[f"p-{name}"] = "on"
        elif (field.gmi_widget_kind == "select" and initial) or initial not in (None, ""):
            data[f"p-{name}"] = initial
    for p in params:
        if p.required and p.kind in ("text", "string"):
            data[f"p-{p.name}"] = "a cat surfing"
    png = media.png_bytes() if hasattr(media, "png_bytes") else _tiny_png()
    data[f"p-{file_param.name}__file"] = SimpleUploadedFile("cat.png", png, content_type="image/png")

    response = member.post(reverse("generations:submit"), data)

    assert response.status_code == 302, response.context and (
        response.context["param_form"].errors, response.context["top_errors"])
    generation = Generation.objects.get()
    assert generation.payload[file_param.name].startswith("http")


def _tiny_png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_correcting_errors_and_sending_again_with_the_same_form_key_creates_the_job(member, sink):
    data = {**VALID_POST, "idempotency_key": "form-456"}

    refused = member.post(reverse("generations:submit"), {**data, "p-steps": "99"})
    accepted = member.post(reverse("generations:submit"), data)

    assert refused.status_code == 200
    assert accepted.status_code == 302
    assert Generation.objects.count() == 1


def test_asking_for_a_model_that_is_not_available_says_so_and_offers_the_others(member, sink):
    response = member.get(reverse("generations:submit"), {"model": "Nope"}, follow=True)

    assert response.context["model"].pk == "Kitchen-Sink"
    assert "is not available" in response.content.decode()


def test_a_parameter_the_form_cannot_build_falls_back_to_a_text_input():
    odd = Parameter(name="mood", kind="choice", options=(object(),), option_labels=("?",))
    form = ParameterForm([odd, *read_parameters(EVERY_KIND[:1])], {"p-mood": "calm", "p-prompt": "x"})

    assert form.is_valid()
    assert form.payload() == {"mood": "calm", "prompt": "x"}
    assert 'type="text"' in str(form["mood"])


def test_an_over_long_prompt_is_refused_next_to_the_prompt_field(member, sink):
    response = member.post(reverse("generations:submit"), {**VALID_POST, "p-prompt": "a paper boat " * 1000})

    assert response.status_code == 200
    assert not Generation.objects.exists()
    assert response.context["param_form"].errors["prompt"] == ["Must be at most 5000 characters (it has 12999)."]


@pytest.mark.parametrize(
    ("kind", "multiple", "widget"),
    [
        ("text", False, "textarea"), ("string", False, "text"), ("integer", False, "number"),
        ("number", False, "number"), ("boolean", False, "checkbox"), ("choice", False, "select"),
        ("file", False, "file"), ("file", True, "file"), ("url", False, "url"), ("url", True, "textarea"),
        ("unknown", False, "text"), ("integer", True, "text"),
    ],
)
def test_widget_follows_kind(kind: str, multiple: bool, widget: str) -> None:
    assert widget_for(Parameter(name="x", kind=kind, multiple=multiple)) == widget


def test_read_parameters_get_the_widget_of_their_kind() -> None:
    params = {p.name: p for p in read_parameters([
        {"name": "image_url", "type": "string"},
        {"name": "palette", "type": "color"},
        {"name": "duration", "type": "string", "options": ["5", "10"], "default": "5"},
    ])}
    assert widget_for(params["image_url"]) == "file"
    assert widget_for(params["palette"]) == "text"
    assert widget_for(params["duration"]) == "select"
