"""The API's answer to errors: the app's refusals in words, other hosts' answers never passed on."""
from __future__ import annotations

import pytest

from generations.api.errors import api_exception_handler
from generations.exceptions import NotFound
from generations.gmi.errors import UpstreamNotFound, UpstreamUnavailable
from generations.media import MediaInvalid
from generations.net.errors import DownloadFailed


def test_a_refusal_of_the_app_answers_with_its_status_and_code():
    response = api_exception_handler(NotFound(), {})
    assert response.status_code == 404
    assert response.data["code"] == NotFound.code


@pytest.mark.parametrize("exc", [
    UpstreamUnavailable("GMI did not answer"),
    UpstreamNotFound("no such request"),
    DownloadFailed("the file server said 404", status_code=404),
    MediaInvalid("not a video"),
])
def test_an_error_about_another_hosts_answer_is_not_worded_as_a_refusal(exc):
    # None hands it back to DRF, which re-raises it: a 500 and a logged traceback, not the
    # remote host's status dressed as the site's own answer.
    assert api_exception_handler(exc, {}) is None
