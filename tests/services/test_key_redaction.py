"""The GMI key never reaches members, staff, logs or the database, even when GMI repeats it in an answer."""
from __future__ import annotations

import logging
import sys

import pytest
from django.db import models as db_models
from django.urls import reverse

from generations.gmi.redaction import Redactor
from generations.models import Generation, GenerationEvent
from generations.services import submissions
from tests.helpers.factories import UserFactory
from tests.helpers.lifecycle import drive
from tests.helpers.settings import TEST_API_KEY

pytestmark = pytest.mark.django_db(transaction=True)

S = Generation.Status
#: Every form of the key GMI might repeat: whole, lower- and upper-cased, and truncated.
ECHOES = (TEST_API_KEY, TEST_API_KEY.lower(), TEST_API_KEY.upper(), TEST_API_KEY[3:14])
#: The tell-tale pieces a leak would contain whatever its case.
PIECES = {TEST_API_KEY.lower()[start : start + 8] for start in range(len(TEST_API_KEY) - 7)}


def leaks(text: str) -> set[str]:
    lowered = text.lower()
    return {piece for piece in PIECES if piece in lowered}


def submit(user, prompt: str):
    return submissions.submit_generation(
        user=user, model_id="Veo3", payload={"prompt": prompt, "durationSeconds": 8}
    )


def stored_text(*rows: db_models.Model) -> str:
    """Every text and JSON column of ``rows``, as the database holds it."""
    chunks = []
    for row in rows:
        for field in row._meta.concrete_fields:
            if isinstance(field, (db_models.CharField, db_models.TextField, db_models.JSONField)):
                chunks.append(str(field.value_from_object(row)))
    return "\n".join(chunks)


def test_key_echoed_by_gmi_appears_in_no_page_api_answer_admin_page_log_line_or_row(
    catalogue, client, caplog, staff_user
):
    caplog.set_level(logging.DEBUG)
    owner = UserFactory(username="owner")
    echoed = " / ".join(ECHOES)
    catalogue.set_fault("echo", count=1, text=echoed)
    failed = drive(submit(owner, "a failing job that repeats the key"))
    catalogue.set_fault("echo", count=1, text=echoed, fail=False)
    succeeded = drive(submit(owner, "a good job whose answer repeats the key"))
    assert failed.status == S.FAILED and "[redacted]" in failed.error
    assert succeeded.status == S.SUCCEEDED, succeeded.error
    assert "diagnostics" in succeeded.upstream_response  # GMI's answer is kept, minus the key

    client.force_login(owner)
    pages = {
        "gallery": client.get(reverse("generations:gallery")),
        "failed page": client.get(reverse("generations:detail", args=[failed.pk])),
        "succeeded page": client.get(reverse("generations:detail", args=[succeeded.pk])),
        "API list": client.get(reverse("generations:api:generation-list")),
        "API detail": client.get(reverse("generations:api:generation-detail", args=[failed.pk])),
    }
    client.force_login(staff_user)
    for generation in (failed, succeeded):
        pages[f"admin {generation.pk}"] = client.get(
            reverse("admin:generations_generation_change", args=[generation.pk])
        )
    for name, response in pages.items():
        assert response.status_code == 200, name
        assert not leaks(response.content.decode()), name

    rows = [*Generation.objects.all(), *GenerationEvent.objects.all()]
    assert not leaks(stored_text(*rows))
    assert "[redacted]" in " ".join(caplog.messages)  # the failure was logged, without the key
    assert not leaks("\n".join(record.getMessage() for record in caplog.records))


def test_redactor_removes_whole_recased_and_partial_copies_of_the_key_from_nested_data():
    redactor = Redactor([TEST_API_KEY])
    data = {TEST_API_KEY: [f"Bearer {TEST_API_KEY.upper()}", {"note": f"...{TEST_API_KEY[2:12]}..."}], "n": 3}
    assert redactor.data(data) == {"[redacted]": ["Bearer [redacted]", {"note": "...[redacted]..."}], "n": 3}
    assert redactor.text("the model could not render this request") == "the model could not render this request"
    assert redactor.text(TEST_API_KEY[:7]) == TEST_API_KEY[:7]  # too short a piece to be the key


def test_every_configured_log_handler_redacts_the_key_from_messages_and_tracebacks(settings):
    handlers = settings.LOGGING["handlers"]
    assert handlers and all("redact_gmi_key" in handler.get("filters", ()) for handler in handlers.values())
    settings.GENERATIONS = {"API_KEY": TEST_API_KEY}
    handler = logging.getLogger("generations").handlers[0]
    try:
        raise RuntimeError(f"settings dump: {TEST_API_KEY.upper()}")
    except RuntimeError:
        record = logging.getLogger("elsewhere").makeRecord(
            "elsewhere", logging.ERROR, __file__, 1, "key=%s", (TEST_API_KEY,), exc_info=sys.exc_info()
        )
    assert handler.filter(record)
    assert record.getMessage() == "key=[redacted]"
    assert "[redacted]" in record.exc_text and not leaks(record.exc_text)


def test_a_short_development_key_is_redacted_whole_and_never_eats_ordinary_words():
    redactor = Redactor(["simulator-key"])
    assert redactor.text("the simulator's Kling model, key simulator-key") == (
        "the simulator's Kling model, key [redacted]"
    )
    assert Redactor(["k"]).text("Kling-Text2Video apikey") == "Kling-Text2Video apikey"


def test_a_copy_of_the_key_hidden_behind_json_escapes_is_still_redacted():
    import json

    redactor = Redactor([TEST_API_KEY])
    escaped = "".join(f"\\u{ord(ch):04x}" for ch in TEST_API_KEY)
    source = '{"error": "key ' + escaped + '", "ok": "clean"}'
    assert redactor.data(json.loads(source), source=source) == {"error": "key [redacted]", "ok": "clean"}
    plain = json.dumps({"ok": "clean", "n": [1, "two"]})
    assert redactor.data(json.loads(plain), source=plain) == {"ok": "clean", "n": [1, "two"]}
