"""The door benchmark's plan: who is a resident, what they enrol, what the visits are. No data:
a made-up LFW-like list of people."""

from __future__ import annotations

import pytest

from bench.tests.conftest import require_data
from facegate.errors import DataError
from facegate_bench import door
from facegate_bench.door import Visit, VisitResult


def people() -> dict[str, list[str]]:
    """Person i has i % 12 + 1 photos (1..12), 240 people."""
    return {f"P{i:03d}": [f"P{i:03d}/{k}.jpg" for k in range(i % 12 + 1)] for i in range(240)}


def test_residents_enrol_three_to_five_photos_and_the_rest_are_visits() -> None:
    ppl = people()
    enrol, visits = door.plan(ppl, 50, 5, 3, 100, seed=1, min_enrol_photos=3)
    assert len(enrol) == 50
    for name, photos in enrol.items():
        n = len(ppl[name])
        assert n >= 4  # at least 3 to enrol and 1 to visit
        assert len(photos) == max(3, min(5, n - 3))
        held = [v.image for v in visits if v.kind == "resident" and v.person == name]
        assert 1 <= len(held) <= 3 and not set(held) & set(photos)
        assert set(held) | set(photos) <= set(ppl[name])
    sizes = {len(p) for p in enrol.values()}
    assert sizes == {3, 4, 5}  # those with enough photos enrol 5, held-out visits come first


def test_strangers_are_never_enrolled_and_the_plan_is_seeded() -> None:
    ppl = people()
    enrol, visits = door.plan(ppl, 50, 5, 3, 100, seed=1, min_enrol_photos=3)
    strangers = [v for v in visits if v.kind == "stranger"]
    assert len(strangers) == 100 and len({v.person for v in strangers}) == 100
    assert not {v.person for v in strangers} & set(enrol)
    assert door.plan(ppl, 50, 5, 3, 100, seed=1, min_enrol_photos=3) == (enrol, visits)
    assert door.plan(ppl, 50, 5, 3, 100, seed=2, min_enrol_photos=3) != (enrol, visits)


def test_fixed_enrolment_count_without_a_minimum() -> None:
    enrol, _ = door.plan(people(), 20, 2, 3, 10, seed=0)
    assert {len(p) for p in enrol.values()} == {2}


def test_too_few_people_is_a_data_error() -> None:
    with pytest.raises(DataError, match="have > 3 photos"):
        door.plan(people(), 300, 5, 3, 10, seed=0, min_enrol_photos=3)


def test_visit_log_line() -> None:
    r = VisitResult(
        Visit("stranger", "Bob", "Bob/1.jpg"),
        "Ann",
        120.0,
        28,
        30,
        0.8,
        0.9,
        ["open"],
        [{"decision": "open", "reason": "x", "scores": {"sface": 0.6}}],
    )
    d = r.to_dict()
    assert d["false_open"] and not d["missed"] and d["opened_for"] == "Ann"
    assert d["cpu_ms"] == 800.0 and d["events"][0]["scores"] == {"sface": 0.6}


def test_one_person_under_two_names_is_one_person(tmp_path) -> None:
    for rel in (
        "Choi_Sung-hong/Choi_Sung-hong_0001.jpg",
        "Choi_Sung-hong/Choi_Sung-hong_0002.jpg",
        "Sung_Hong_Choi/Sung_Hong_Choi_0001.jpg",
        "Ann_Lee/Ann_Lee_0001.jpg",
    ):
        (tmp_path / "gray" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "gray" / rel).touch()
    misfiled = tmp_path / "gray" / "Carlos_Ruckauf" / "Carlos_Ruckauf_0001.jpg"
    misfiled.parent.mkdir(parents=True)
    misfiled.touch()  # a photo of Eduardo Duhalde: his, with no folder of his own here
    ppl = door.lfw_people(tmp_path)
    assert list(ppl) == ["Ann_Lee", "Choi_Sung-hong", "Eduardo_Duhalde"]
    assert "Sung_Hong_Choi/Sung_Hong_Choi_0001.jpg" in ppl["Choi_Sung-hong"]
    with pytest.raises(DataError, match="not found"):
        door.lfw_people(tmp_path / "nowhere")


@pytest.mark.data
def test_no_lfw_name_written_both_ways_round_is_two_people() -> None:
    """A resident filed under a second name order would be a "stranger" the door rightly opens
    for (it happened twice): every rotation of a folder name's parts must map to one person."""
    ppl = door.lfw_people(require_data("lfw"))
    for name in ppl:
        parts = name.split("_")
        for k in range(1, len(parts)):
            rotated = "_".join(parts[k:] + parts[:k])
            assert rotated == name or rotated not in ppl, (name, rotated)
