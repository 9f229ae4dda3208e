"""Fuzzing the config loader (`facegate.config.load_config`: `schema.read_mapping` then
`schema.validate`): YAML text (the shipped example and the defaults, mutated; YAML built from
the real keys with tags, anchors and aliases, deep nesting, non-UTF-8 bytes) and mappings
(the defaults with values swapped for junk). Each gives a config or ConfigError."""

from __future__ import annotations

import copy
from functools import cache

import pytest
from hypothesis import strategies as st

from facegate.config import FaceGateConfig
from tests.fuzz import budget
from tests.fuzz.targets import check_config_mapping, check_config_text, config_seeds

#: Scalars YAML turns into Python objects with parsers of their own (dates, numbers, tags).
_SCALARS = [
    "~",
    "null",
    "true",
    "no",
    "0",
    "-1",
    "1e999",
    ".nan",
    "-.inf",
    "0x1F",
    "0o17",
    "1_000",
    "9" * 5000,
    "2001-02-30",
    "2001-12-14t21:59:43.10-05:00",
    "2026-13-01 25:61:61",
    "!!int abc",
    "!!float x",
    "!!bool maybe",
    "!!binary '@@@'",
    "!!timestamp 2001-99-99",
    "!!set {a, b}",
    "!!int ''",
    "!!timestamp ~",
    "!!bool maybe",
    "!!omap [a]",
    "!!pairs [1]",
    "!!python/object:os.system {}",
    "!!str",
    "''",
    "'\\x00'",
    '"\\ud800"',
    '"\\xff\\U0010FFFF"',
    "[]",
    "{}",
    "[1, [2, [3]]]",
    "{<<: {a: 1}}",
    "{<<: 1}",
    "&x 1",
    "*x",
    "*missing",
    "? [a]\n: 1",
    "|\n  text\n",
    "rtsp://a\r\nHost: x",
    "/dev/video0",
    "0.00001",
    "1e-300",
    "3000000000",
]


@cache
def _keys() -> tuple[str, ...]:
    """Every key of the config at any depth, so generated YAML reaches deep validators."""
    found: set[str] = set()

    def walk(v: object) -> None:
        if isinstance(v, dict):
            for k, sub in v.items():
                found.add(str(k))
                walk(sub)
        elif isinstance(v, list):
            for sub in v:
                walk(sub)

    walk(FaceGateConfig().model_dump(mode="json"))
    return tuple(sorted(found))


def _yaml(depth: int) -> st.SearchStrategy[str]:
    scalar = st.one_of(
        st.sampled_from(_SCALARS), st.from_regex(r"[a-z0-9 ._:/-]{0,12}", fullmatch=True)
    )
    if depth == 0:
        return scalar
    key = st.sampled_from(_keys())
    anchor = st.sampled_from(["", "&a ", "&b "])
    inner = _yaml(depth - 1)
    mapping = st.builds(
        lambda a, kv: a + "{" + ", ".join(f"{k}: {v}" for k, v in kv) + "}",
        anchor,
        st.lists(st.tuples(key, inner), max_size=4),
    )
    seq = st.builds(
        lambda a, xs: a + "[" + ", ".join(xs) + "]", anchor, st.lists(inner, max_size=4)
    )
    return st.one_of(scalar, mapping, seq, st.sampled_from(["*a", "*b"]))


@st.composite
def yaml_documents(draw: st.DrawFn) -> bytes:
    top = draw(
        st.lists(
            st.tuples(st.sampled_from(("engine", "runtime", "server", *_keys())), _yaml(3)),
            max_size=5,
        )
    )
    text = "\n".join(f"{k}: {v}" for k, v in top) + "\n"
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 9)) == 0:  # now and then not UTF-8 at all
        data = data.replace(b"a", b"\xff", 1) if b"a" in data else b"\xfe\xff" + data
    return data


@st.composite
def mutated_seeds(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(config_seeds())).encode())
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        pos = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(["byte", "cut", "drop", "dup", "insert"]))
        if op == "byte":
            data[pos] = draw(st.integers(0, 255))
        elif op == "cut":
            del data[pos:]
        elif op == "drop":
            del data[pos : pos + draw(st.integers(1, 40))]
        elif op == "dup":
            data[pos:pos] = data[pos : pos + draw(st.integers(1, 200))] * draw(st.integers(1, 30))
        else:
            data[pos:pos] = draw(
                st.sampled_from([*_SCALARS, ": ", "\n  ", "- ", "\t", "#"])
            ).encode()
    return bytes(data)


_JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.text(max_size=30),
    st.binary(max_size=10),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.just(float("nan")),
    # builds, not just: a mutation may descend into the value, so each draw gets a new one
    st.builds(lambda: {"kind": "mqtt"}),
    st.builds(lambda: [{"name": "x", "kind": "arcface_onnx"}]),
)


@st.composite
def mangled_mappings(draw: st.DrawFn) -> dict:
    """The defaults (which validate) with a few values at any depth replaced by junk,
    removed, or beside an unknown key."""
    data = copy.deepcopy(FaceGateConfig().model_dump(mode="json"))
    for _ in range(draw(st.integers(1, 4))):
        node = data
        while True:
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            if not keys:
                break
            k = draw(st.sampled_from(keys))
            child = node[k]
            if isinstance(child, dict | list) and child and draw(st.integers(0, 3)):
                node = child
                continue
            op = draw(st.sampled_from(["junk", "junk", "drop", "extra"]))
            if op == "junk":
                node[k] = draw(_JUNK)
            elif op == "drop" and isinstance(node, dict):
                del node[k]
            elif isinstance(node, dict):
                node[draw(st.text(max_size=8))] = draw(_JUNK)
            break
    return data


pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture
def check_text(tmp_path):
    return lambda data: check_config_text(data, tmp_path)


def test_generated_yaml(check_text) -> None:
    budget.run(check_text, yaml_documents(), short_examples=150)


def test_mutated_config_files(check_text) -> None:
    budget.run(check_text, mutated_seeds(), short_examples=120)


def test_seeds_as_written(check_text) -> None:
    for seed in config_seeds():
        check_text(seed.encode())
    check_text(b"\xff\xfe\x00engine: {}\n")


def test_mangled_mappings() -> None:
    budget.run(check_config_mapping, mangled_mappings(), short_examples=300)
