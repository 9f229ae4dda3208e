"""What an operator can make the server read or contact: files inside `server.media_dirs`,
hosts on `server.allowed_hosts`; admins are not bound. A refused path answers the same
whether or not it exists; control characters never get into a URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from facegate.config import load_config
from facegate.errors import ConfigError
from tests.server.conftest import Api


def _post(api: Api, who: dict, name: str, **body: object):
    return api.client.post("/api/v1/entrances", headers=who, json={"name": name, **body})


def test_operators_read_files_only_from_the_media_folders_and_cannot_probe(
    api: Api, tmp_path: Path
) -> None:
    media = api.state.config.server.resolved_media_dirs()[0]
    media.mkdir(parents=True)
    inside = media / "visit.mp4"
    inside.write_bytes(b"")
    outside = tmp_path / "secret.mp4"
    outside.write_bytes(b"")
    (media / "link.mp4").symlink_to(outside)
    answers = []
    for uri in (
        str(outside),
        str(tmp_path / "missing.mp4"),
        "/etc/passwd",
        "/etc/no-such-file",
        str(media / "link.mp4"),  # a symlink out of the folder
        str(media / ".." / "secret.mp4"),
        "/dev/video0/../../etc/passwd",
    ):
        r = _post(api, api.operator, "x", source={"uri": uri})
        assert r.status_code == 400, (uri, r.text)
        answers.append((r.json()["error"], r.json()["message"]))
    assert answers[0] == answers[1] == answers[2] == answers[3]  # exists or not: the same
    assert answers[0][0] == "not_allowed" and "server.media_dirs" in answers[0][1]
    assert {a[0] for a in answers} == {"not_allowed"}
    r = _post(api, api.operator, "x", liveness={"model": str(outside)})
    r2 = _post(api, api.operator, "x", liveness={"model": str(tmp_path / "none.onnx")})
    assert r.status_code == r2.status_code == 400 and r.json() == r2.json()

    r = _post(api, api.operator, "lobby", source={"uri": str(inside)})
    assert r.status_code == 201, r.text
    r = _post(api, api.operator, "y", source={"uri": str(media / "gone.mp4")})
    assert r.json()["error"] == "bad_source"  # inside the folder, saying so tells nothing
    r = _post(api, api.admin, "garage", source={"uri": str(outside)})
    assert r.status_code == 201, r.text  # admins are not bound
    # an operator may still change the rest of an entrance an admin pointed elsewhere
    r = api.client.patch(
        f"/api/v1/entrances/{r.json()['id']}",
        headers=api.operator,
        json={"name": "garage2", "source": r.json()["source"]},
    )
    assert r.status_code == 200, r.text


def test_operators_contact_only_allowed_hosts(api: Api) -> None:
    refused = [
        {"source": {"uri": "rtsp://8.8.8.8/live"}},
        {"source": {"uri": "http://example.com/cam.mjpg"}},
        {"source": {"uri": "http://2130706433/cam.mjpg"}},  # 127.0.0.1 spelt as a number
        {"door": {"kind": "webhook", "url": "http://169.254.169.254/latest/meta-data"}},
        {"door": {"kind": "webhook", "url": "http://[::ffff:169.254.169.254]/x"}},
        {"door": {"kind": "mqtt", "host": "broker.example.com"}},
        {"door": {"kind": "serial", "port": "/etc/passwd"}},
    ]
    for body in refused:
        r = _post(api, api.operator, "x", **body)
        assert r.status_code == 400 and r.json()["error"] == "not_allowed", (body, r.text)
    accepted = [
        {"source": {"uri": "rtsp://192.168.1.20:554/live"}},
        {"source": {"uri": "rtsp://cam.local/stream"}},
        {"door": {"kind": "webhook", "url": "http://127.0.0.1:9/open"}},
        {"door": {"kind": "mqtt", "host": "10.1.2.3"}},
        {"door": {"kind": "serial", "port": "/dev/ttyUSB0"}},
    ]
    for i, body in enumerate(accepted):
        r = _post(api, api.operator, f"ok{i}", **body)
        assert r.status_code == 201, (body, r.text)
    r = _post(api, api.admin, "far", source={"uri": "rtsp://8.8.8.8/live"})
    assert r.status_code == 201  # admins set the list, and may set any host


def test_the_allow_lists_come_from_the_server_config(make_api, tmp_path: Path) -> None:
    media = tmp_path / "clips"
    media.mkdir()
    (media / "a.mp4").write_bytes(b"")
    api = make_api(allowed_hosts=["10.9.0.0/16", "*.site.example"], media_dirs=[str(media)])
    assert _post(api, api.operator, "a", source={"uri": str(media / "a.mp4")}).status_code == 201
    for uri, status in (
        ("rtsp://10.9.4.4/x", 201),
        ("rtsp://cam1.site.example/x", 201),
        ("rtsp://192.168.1.5/x", 400),
        ("rtsp://cam.local/x", 400),
    ):
        r = _post(api, api.operator, f"c{status}{uri[7:10]}", source={"uri": uri})
        assert r.status_code == status, (uri, r.text)
    with pytest.raises(ConfigError, match="allowed_hosts"):
        load_config({"server": {"allowed_hosts": ["http://x/"]}})


@pytest.mark.parametrize(
    "body",
    [
        {"source": {"uri": "rtsp://10.0.0.5/live\r\nX-Injected: 1"}},
        {"source": {"uri": "/data/media/a.mp4\n"}},
        {"door": {"kind": "webhook", "url": "http://10.0.0.5/open\r\nHost: evil"}},
        {"door": {"kind": "webhook", "url": "http://10.0.0.5/o", "headers": {"X": "a\r\nB: c"}}},
        {"door": {"kind": "mqtt", "host": "10.0.0.5\n"}},
    ],
)
def test_control_characters_are_refused_in_urls_for_everyone(api: Api, body: dict) -> None:
    r = _post(api, api.admin, "x", **body)
    assert r.status_code == 422 and "control characters" in r.json()["message"], r.text
