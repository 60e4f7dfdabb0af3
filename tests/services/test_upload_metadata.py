"""Images go to GMI without their metadata: the bytes GMI stores carry no EXIF, GPS, XMP or comment."""
from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, PngImagePlugin

from generations import media
from generations.services import tokens
from tests.helpers.factories import UserFactory
from tests.helpers.settings import override_generations

pytestmark = pytest.mark.django_db(transaction=True)

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def jpeg_with_gps(*, orientation: int = 1, size=(40, 20)) -> bytes:
    image = Image.new("RGB", size, (10, 120, 200))
    image.paste((250, 250, 0), (0, 0, 10, 10))  # a yellow corner, to see which way is up
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0131] = "Camera firmware 1.0"  # Software
    exif[ORIENTATION] = orientation
    exif[GPS_IFD] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95, exif=exif, comment=b"taken at home")
    return buffer.getvalue()


def stored_upload(gmi, url: str) -> bytes:
    token = url.rsplit("/", 1)[-1].partition(".")[0].partition("?")[0]
    return gmi.state.upload(token).data


@pytest.fixture
def api(client):
    _, key = tokens.create_token(user=UserFactory())
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    return client


def post(api, name, data, content_type="image/jpeg"):
    return api.post("/api/v1/uploads/", {"file": SimpleUploadedFile(name, data, content_type=content_type)})


def test_a_jpeg_with_gps_exif_reaches_gmi_without_any_of_it(gmi, api):
    original = jpeg_with_gps()
    assert b"PhoneMaker" in original and Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)
    response = post(api, "holiday.jpg", original)
    assert response.status_code == 201, response.content
    received = stored_upload(gmi, response.json()["url"])
    image = Image.open(io.BytesIO(received))
    assert image.format == "JPEG" and image.size == (40, 20)
    assert not image.getexif() and "exif" not in image.info
    assert b"Exif" not in received and b"PhoneMaker" not in received and b"taken at home" not in received
    assert response.json()["size"] == len(received)


def test_the_orientation_is_applied_to_the_pixels_before_the_tag_goes(gmi, api):
    # Orientation 6: the camera was turned; viewers rotate the picture 90° clockwise.
    response = post(api, "turned.jpg", jpeg_with_gps(orientation=6))
    assert response.status_code == 201, response.content
    image = Image.open(io.BytesIO(stored_upload(gmi, response.json()["url"])))
    assert image.size == (20, 40)  # as a viewer showed it
    assert not image.getexif()
    r, g, b = image.convert("RGB").getpixel((15, 3))  # the yellow corner is now top right
    assert r > 200 and g > 200 and b < 80


def test_png_text_chunks_are_dropped_and_a_clean_png_is_sent_untouched(gmi, api):
    info = PngImagePlugin.PngInfo()
    info.add_text("Location", "48.8582 N, 2.2945 E")
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (1, 2, 3)).save(buffer, format="PNG", pnginfo=info)
    response = post(api, "map.png", buffer.getvalue(), "image/png")
    assert response.status_code == 201, response.content
    received = stored_upload(gmi, response.json()["url"])
    assert b"Location" not in received and b"48.8582" not in received
    clean = io.BytesIO()
    Image.new("RGB", (16, 16), (1, 2, 3)).save(clean, format="PNG")
    response = post(api, "clean.png", clean.getvalue(), "image/png")
    assert stored_upload(gmi, response.json()["url"]) == clean.getvalue()


def test_an_image_announcing_too_many_pixels_is_refused_before_it_is_decoded(gmi, api):
    with override_generations(UPLOAD_MAX_IMAGE_PIXELS=100):
        response = post(api, "big.jpg", jpeg_with_gps(size=(20, 20)))
    assert response.status_code == 400 and "pixels" in response.json()["detail"]
    assert gmi.journal(endpoint="upload") == []


def test_stripping_keeps_the_colour_profile():
    profile = b"\x00" * 128 + b"fake icc profile body"
    image = Image.new("RGB", (8, 8))
    exif = Image.Exif()
    exif[GPS_IFD] = {1: "S"}
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif, icc_profile=profile)
    stripped = media.strip_image_metadata(buffer.getvalue(), "jpeg", max_pixels=10_000)
    assert Image.open(io.BytesIO(stripped)).info.get("icc_profile") == profile
    assert not Image.open(io.BytesIO(stripped)).getexif()
