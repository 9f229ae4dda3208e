"""Fuzzing the server's upload paths (a resident's photo, /identify, /verify) with the
mutated images of tests/fuzz/test_fuzz_imageio.py: every answer is a result or a 4xx in
FaceGate's error shape, never a 500. Fewer examples than the decoder alone: each runs the
detector. `FACEGATE_FUZZ_SECONDS` makes it a long run, as for tests/fuzz."""

from __future__ import annotations

import zlib
from collections.abc import Callable

import cv2
import numpy as np
import pytest
from hypothesis import strategies as st

from tests.fuzz import budget
from tests.fuzz.test_fuzz_imageio import claimed_sizes, exif_junk, mutated
from tests.server.conftest import Api, add_resident

pytestmark = pytest.mark.filterwarnings("ignore")

UPLOAD_STATUSES = {200, 201, 400, 409, 413, 422}


def _answered(r, what: str) -> None:
    assert r.status_code in UPLOAD_STATUSES, f"{what}: {r.status_code} {r.text[:300]}"
    if r.status_code >= 400:
        body = r.json()
        assert isinstance(body.get("error"), str) and isinstance(body.get("message"), str), body


@pytest.fixture
def fuzz_api(make_api: Callable[..., Api]) -> Api:
    return make_api(max_upload_mb=0.05)  # 51 KB: the 413 path is reachable by duplication


def test_uploads_answer_4xx_never_500(fuzz_api: Api, photos: dict) -> None:
    c, h = fuzz_api.client, fuzz_api.operator
    rid = add_resident(fuzz_api)["id"]
    inputs = st.one_of(mutated(), exif_junk(), claimed_sizes(), st.binary(max_size=512))

    def check(data: bytes) -> None:
        f = {"file": ("x.jpg", data, "image/jpeg")}
        _answered(c.post(f"/api/v1/residents/{rid}/photos", headers=h, files=f), "photo")
        _answered(c.post("/api/v1/identify", headers=h, files=f), "identify")
        pair = {"file1": ("a.jpg", data, "image/jpeg"), "file2": ("b.png", data, "image/png")}
        _answered(c.post("/api/v1/verify", headers=h, files=pair), "verify")

    budget.run(check, inputs, short_examples=25)


def test_images_the_fuzzer_found_are_400_not_500(fuzz_api: Api) -> None:
    """Each of these escaped the decoder as a bare ValueError / TypeError: a 500 here."""
    ihdr = b"IHDR" + b"\x00" * 5  # an IHDR chunk of 5 bytes, not 13
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x05" + ihdr + zlib.crc32(ihdr).to_bytes(4, "big")
    tiff = bytes.fromhex("49492a00080000000a00000102000100000000000000010104000100000000000000")
    ppm = b"P6\n64 64\n?55\n" + bytes(64 * 64 * 3)
    c, h = fuzz_api.client, fuzz_api.operator
    rid = add_resident(fuzz_api)["id"]
    for data in (png, tiff, ppm):
        f = {"file": ("x.jpg", data, "image/jpeg")}
        for r in (
            c.post("/api/v1/identify", headers=h, files=f),
            c.post(f"/api/v1/residents/{rid}/photos", headers=h, files=f),
        ):
            assert r.status_code in (400, 422), r.text
            assert r.json()["error"] == "bad_image", r.text


def test_a_sliver_of_an_image_is_no_face_not_500(make_api: Callable[..., Api]) -> None:
    """8 x 40000 pixels: the detector shrank it to 0 x 640 and cv2.resize raised (a 500)."""
    api = make_api()
    c, h = api.client, api.operator
    rid = add_resident(api)["id"]
    for shape in ((40000, 8, 3), (8, 40000, 3)):
        _, png = cv2.imencode(".png", np.full(shape, 128, np.uint8))
        f = {"file": ("x.png", png.tobytes(), "image/png")}
        pair = {"file1": ("a.png", png.tobytes(), "image/png"), "file2": f["file"]}
        for r in (
            c.post("/api/v1/identify", headers=h, files=f),
            c.post(f"/api/v1/residents/{rid}/photos", headers=h, files=f),
            c.post("/api/v1/verify", headers=h, files=pair),
        ):
            assert r.status_code == 422, r.text
            assert r.json()["error"] in ("no_face", "low_quality"), r.text
