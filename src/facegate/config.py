"""One typed configuration for FaceGate, validated at start-up with clear errors.

Every section has working defaults, so `FaceEngine()` and `facegate identify` need no file.
A YAML/JSON file only overrides what it names.

This module assembles sections: each part below it keeps its section beside its code
(`models/config.py` for the engine, `runtime/config.py` for an entrance); the server, which
stands above this module and imports it, has its `server:` section here. Nothing that this
module imports imports it back: code imports config, never the reverse.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from facegate.fleet.config import FleetConfig
from facegate.models.config import (
    DetectorConfig,
    EngineConfig,
    EnrolQuality,
    RecognizerConfig,
)
from facegate.reach import DEFAULT_ALLOWED_HOSTS, HostEntry
from facegate.runtime.config import RuntimeConfig
from facegate.schema import StrictModel, read_mapping, validate

__all__ = [
    "DetectorConfig",
    "EngineConfig",
    "EnrolQuality",
    "FaceGateConfig",
    "GalleryConfig",
    "RecognizerConfig",
    "RuntimeConfig",
    "ServerConfig",
    "default_gallery_path",
    "load_config",
]


def default_gallery_path() -> Path:
    """$FACEGATE_DB, else the user's data folder."""
    env = os.environ.get("FACEGATE_DB")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "facegate" / "gallery.sqlite"


class GalleryConfig(StrictModel):
    path: Path = Field(default_factory=default_gallery_path)


def default_data_dir() -> Path:
    """$FACEGATE_HOME, else the user's data folder: database, journal and snapshots live here."""
    env = os.environ.get("FACEGATE_HOME")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "facegate" / "server"


class SignInLimits(StrictModel):
    """Password guessing is throttled by counting failed sign-ins in the database (every
    replica sees the same counts). Two limits, each a sliding window: one account from one
    client is refused for a short while after a few failures (a mistyped password costs a
    person minutes, and an attacker elsewhere cannot lock a real admin out), and one client
    (IP address) is refused for longer after more failures on any accounts. Refused
    attempts are answered 429 with Retry-After and are not counted, so the lock ends."""

    account_failures: int = Field(
        5, ge=1, description="failed sign-ins of one account from one client in the window"
    )
    account_window_min: float = Field(15.0, gt=0, description="that window, minutes")
    client_failures: int = Field(
        20, ge=1, description="failed sign-ins from one client (any accounts) in the window"
    )
    client_window_min: float = Field(60.0, gt=0, description="that window, minutes")


class SelfEnrolment(StrictModel):
    """Residents enrolling themselves from an invite link (`operations.invites`). The link
    is the only credential its holder has, so it is one-time, short-lived and revocable,
    and its public endpoints are rate-limited per link and per client address; photos
    wait for a manager's approval unless `auto_accept` says otherwise."""

    invite_ttl_h: float = Field(
        72.0, gt=0, le=24 * 30, description="how long an invite link stays valid (hours)"
    )
    auto_accept: bool = Field(
        False,
        description="enrol a resident's photos at once when every check passes with no "
        "warning; photos with a warning still wait for a manager",
    )
    max_photo_mb: float = Field(4.0, gt=0, description="largest photo a resident may send")
    max_frame_kb: float = Field(
        300.0, gt=0, description="largest preview frame sent for the live hints"
    )
    checks_per_minute: int = Field(
        90, ge=1, description="live-hint frames per link and per client address a minute"
    )
    submits_per_hour: int = Field(
        10, ge=1, description="photo submissions per link and per client address an hour"
    )


class ServerConfig(StrictModel):
    host: str = Field("127.0.0.1", description="address to listen on")
    port: int = Field(8000, ge=1, le=65535, description="$FACEGATE_PORT overrides it")
    data_dir: Path = Field(
        default_factory=default_data_dir, description="SQLite database, journal and snapshots"
    )
    database_url: str | None = Field(
        None,
        description="sqlite:///file or postgresql://user@host/db; default: "
        "<data_dir>/facegate.sqlite",
    )
    admin_user: str = Field(
        "admin", min_length=1, description="first admin; $FACEGATE_ADMIN_USER overrides it"
    )
    admin_password: str | None = Field(
        None,
        description="first admin's password ($FACEGATE_ADMIN_PASSWORD); when unset a "
        "random one is printed once, at first start",
    )
    token_ttl_h: float = Field(12.0, gt=0, description="how long a sign-in lasts")
    sign_in: SignInLimits = Field(
        default_factory=SignInLimits, description="throttling of failed password sign-ins"
    )
    max_upload_mb: float = Field(15.0, gt=0, description="largest accepted photo upload")
    db_timeout_s: float = Field(5.0, gt=0, description="wait this long for a locked database")
    inference_slots: int = Field(
        0,
        ge=0,
        description="face searches and enrolments run at once (each model with cores / slots "
        "threads unless engine.threads is set); 0 = one per CPU core",
    )
    inference_queue: int = Field(
        4,
        ge=0,
        description="how many more may wait for a slot (4: about two searches' time each on "
        "a 2-core box); beyond that 503 with Retry-After",
    )
    run_entrances: bool = Field(True, description="run the enabled entrances in this process")
    media_dirs: list[Path] | None = Field(
        None,
        description="folders an operator may use video files and image folders from "
        "(admins: any); default: <data_dir>/media",
    )
    allowed_hosts: list[HostEntry] = Field(
        default_factory=lambda: list(DEFAULT_ALLOWED_HOSTS),
        description="cameras, webhooks and MQTT brokers an operator may point an entrance "
        "at (admins: any): networks (10.0.0.0/8), addresses, host names, *.domain, or *",
    )
    default_entrance: str = Field(
        "main", min_length=1, description="created at first start, from `runtime:`"
    )
    self_enrolment: SelfEnrolment = Field(
        default_factory=SelfEnrolment,
        description="invite links with which residents enrol their own photos",
    )
    timezone: str = Field(
        "UTC",
        description="the site's time zone (IANA name, e.g. Europe/Berlin): times in the web "
        "UI and the CSV export, the day the dashboard counts, and the zone access rules' "
        "weekly windows are read in",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        """Refused at start-up, not at the first page view: a typo would otherwise show
        every event an hour or more off without a word."""
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(
                f"unknown time zone {v!r}: use an IANA name such as Europe/London or UTC"
            ) from None
        return v

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'facegate.sqlite'}"

    def resolved_media_dirs(self) -> list[Path]:
        """`media_dirs`, or the data dir's `media` folder."""
        return list(self.media_dirs) if self.media_dirs is not None else [self.data_dir / "media"]


class FaceGateConfig(StrictModel):
    """The whole configuration file."""

    engine: EngineConfig = EngineConfig()
    gallery: GalleryConfig = GalleryConfig()
    runtime: RuntimeConfig = RuntimeConfig()
    server: ServerConfig = Field(default_factory=ServerConfig)
    fleet: FleetConfig = Field(default_factory=FleetConfig)


def load_config(source: str | os.PathLike[str] | dict[str, Any] | None = None) -> FaceGateConfig:
    """Read and validate a YAML/JSON file or a dict; errors list every bad field by path."""
    if source is None:
        return FaceGateConfig()
    if isinstance(source, dict):
        return validate(FaceGateConfig, source)
    return validate(FaceGateConfig, read_mapping(source), str(source))
