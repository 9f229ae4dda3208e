"""Face searches and enrolments under load (`server.inference_slots`, `inference_queue`):
as many run at once as there are slots, a few more wait, the rest are refused at once with
503 and Retry-After instead of queueing behind one lock for as long as the load lasts."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from tests.server.conftest import Api, add_resident, upload


def _in_thread(call: Callable[[], object], timeout: float = 60.0):
    """The call's result, or None if it did not finish (blocked behind a held slot)."""
    out: list[object] = []
    t = threading.Thread(target=lambda: out.append(call()), daemon=True)
    t.start()
    t.join(timeout)
    return out[0] if out else None


def test_a_full_queue_answers_503_with_retry_after(make_api, photos: dict) -> None:
    api: Api = make_api(inference_slots=1, inference_queue=0)
    c, h = api.client, api.operator
    files = {"file": ("q.jpg", photos["again"], "image/jpeg")}
    rid = add_resident(api)["id"]
    with api.state.face_engine():  # the one slot is taken (a search in progress)
        r = _in_thread(lambda: c.post("/api/v1/identify", headers=h, files=files))
        assert r is not None, "the request queued behind the busy slot instead of a 503"
        assert r.status_code == 503, r.text
        assert r.json()["error"] == "busy" and int(r.headers["Retry-After"]) >= 1
        r = _in_thread(lambda: upload(api, rid, photos["hopper"]))
        assert r is not None and r.status_code == 503 and r.json()["error"] == "busy"
    # the slot is free again: answered, and the refused enrolment stored nothing
    assert c.post("/api/v1/identify", headers=h, files=files).status_code == 200
    assert c.get(f"/api/v1/residents/{rid}/photos", headers=h).json() == []


def test_searches_run_side_by_side_up_to_the_slots(make_api, photos: dict) -> None:
    api: Api = make_api(inference_slots=2, inference_queue=0)
    c, h = api.client, api.operator
    files = {"file": ("q.jpg", photos["again"], "image/jpeg")}
    with api.state.face_engine():  # one of two slots taken: a second search still runs
        r = _in_thread(lambda: c.post("/api/v1/identify", headers=h, files=files))
        assert r is not None, "the second search waited for the first (one at a time)"
        assert r.status_code == 200, r.text
        with api.state.face_engine():  # both taken, no queue: refused
            r = _in_thread(lambda: c.post("/api/v1/identify", headers=h, files=files))
            assert r is not None and r.status_code == 503


def test_waiting_requests_are_answered_when_a_slot_frees(make_api, photos: dict) -> None:
    api: Api = make_api(inference_slots=1, inference_queue=1)
    c, h = api.client, api.operator
    files = {"file": ("q.jpg", photos["again"], "image/jpeg")}
    answers: list = []

    def search() -> None:
        answers.append(c.post("/api/v1/identify", headers=h, files=files))

    threads = [threading.Thread(target=search, daemon=True) for _ in range(2)]
    with api.state.face_engine():  # the slot is taken; of two more, one waits, one is refused
        for t in threads:
            t.start()
        for _ in range(600):
            if answers:
                break
            time.sleep(0.1)
        assert [r.status_code for r in answers] == [503], "nothing refused while the slot is held"
    for t in threads:
        t.join(60)
    assert [r.status_code for r in answers] == [503, 200]
