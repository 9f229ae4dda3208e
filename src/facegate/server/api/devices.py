"""Edge devices (`operations.devices`, `operations.fleet_sync`): two routers.

* `router` (`/devices`): the administrator's side, with user auth: create (the token is
  shown once), list, get, revoke, send a command; a device event's best shot.
* `device_router` (`/device`): the device's side, `Authorization: Bearer <device
  secret>` (enrol needs only the one-time token): enrol, snapshot, events (the HTTP
  fallback of MQTT, same ingest), best-shot upload.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from facegate.fleet.protocol import EventAck, EventBatch, Kind
from facegate.server.db.fleet_models import Device
from facegate.server.deps import DB, Admin, Operator, State, Viewer
from facegate.server.device_schemas import (
    CommandIn,
    CommandOut,
    DeviceCreated,
    DeviceIn,
    DeviceOut,
    EnrolIn,
    EnrolOut,
)
from facegate.server.errors import Invalid, UploadTooLarge
from facegate.server.operations import device_events, fleet_sync
from facegate.server.operations import devices as ops
from facegate.server.schemas import DB_INT, ERRORS

router = APIRouter(
    prefix="/devices", tags=["devices"], responses={k: ERRORS[k] for k in (401, 403, 503)}
)
device_router = APIRouter(prefix="/device", tags=["device side"], responses={401: ERRORS[401]})
Id = Annotated[int, Path(ge=1, le=DB_INT)]
EventId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]


@router.post("", response_model=DeviceCreated, status_code=201, responses={400: ERRORS[400]})
def create_device(body: DeviceIn, session: DB, who: Admin) -> DeviceCreated:
    """A device for these entrances; `token` (for `facegate edge --token`) is shown only
    in this answer, enrols once and expires in 7 days."""
    return ops.create_device(session, who, body)


@router.get("", response_model=list[DeviceOut])
def list_devices(session: DB, who: Viewer) -> list[DeviceOut]:
    """Each device with `online`, `last_seen`, the version it holds and how far behind
    the server's it is (`behind`), its software and its entrances' states."""
    return ops.list_devices(session)


@router.get("/{device_id}", response_model=DeviceOut, responses={404: ERRORS[404]})
def get_device(device_id: Id, session: DB, who: Viewer) -> DeviceOut:
    return ops.get_device(session, device_id)


@router.delete("/{device_id}", status_code=204, responses={404: ERRORS[404]})
def revoke_device(device_id: Id, state: State, session: DB, who: Admin) -> None:
    """Revoke: the device's secret fails from now on and its broker login is removed."""
    ops.revoke_device(session, state.fleet, who, device_id)


@router.post(
    "/{device_id}/commands",
    response_model=CommandOut,
    status_code=202,
    responses={400: ERRORS[400], 404: ERRORS[404], 409: ERRORS[409]},
)
def send_command(
    device_id: Id, body: CommandIn, state: State, session: DB, who: Operator
) -> CommandOut:
    """Open a door (with its reason), reload the synced data or restart an entrance:
    audited, signed, and refused by the device after `fleet.command_ttl_s`."""
    assert state.signer is not None
    cid = ops.send_command(
        session, state.fleet, state.signer, who, device_id, body, state.config.fleet.command_ttl_s
    )
    return CommandOut(id=cid)


@router.get(
    "/events/{event_id}/snapshot",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, 404: ERRORS[404]},
)
def event_snapshot(event_id: EventId, state: State, session: DB, who: Viewer) -> Response:
    """The best shot a device uploaded for one of its events."""
    jpeg = device_events.snapshot_jpeg(session, state.gallery.vault, event_id)
    return Response(jpeg, media_type="image/jpeg")


# -- the device's side -------------------------------------------------------------------------


def _device(session: DB, authorization: str | None) -> Device:
    secret = None
    if authorization and authorization[:7].lower() == "bearer ":
        secret = authorization[7:].strip()
    device = ops.authenticate(session, secret)
    session.rollback()  # end the read: SQLite writers must not wait for it
    return device


Auth = Annotated[str | None, Header(alias="Authorization", include_in_schema=False)]


@device_router.post("/enrol", response_model=EnrolOut, responses={503: ERRORS[503]})
def enrol(body: EnrolIn, state: State, session: DB) -> EnrolOut:
    """Trade the one-time token for the device's secret, the server's public key and the
    broker login; a used, expired or unknown token is 401 `bad_device_token`."""
    assert state.signer is not None
    return ops.enrol(session, state.fleet, state.signer, state.config.fleet.topic_prefix, body)


@device_router.get("/snapshot", response_class=Response)
def snapshot(
    state: State,
    session: DB,
    nonce: Annotated[str, Query(pattern=r"^[0-9a-fA-F]{32,128}$")],
    authorization: Auth = None,
) -> Response:
    """Everything the device holds, as a signed `snapshot` envelope with the device's
    current version and the nonce it asked with."""
    assert state.signer is not None
    d = _device(session, authorization)
    version, snap = fleet_sync.snapshot(
        session, state.gallery.vault, d, nonce, state.config.server.timezone
    )
    session.rollback()
    body = state.signer.seal(Kind.SNAPSHOT, d.id, snap, version=version)
    return Response(body, media_type="application/json")


@device_router.post("/events", response_model=EventAck)
def events(batch: EventBatch, session: DB, authorization: Auth = None) -> EventAck:
    """Door events (the HTTP way; MQTT is the usual one), stored once per event id."""
    d = _device(session, authorization)
    if batch.device != d.id:
        raise Invalid(f"this batch says device {batch.device}; the secret is device {d.id}'s")
    ids = fleet_sync.ingest(session, [(d.id, batch)])[d.id]
    ops.mark_seen(session, [d.id])
    session.commit()
    return EventAck(ids=ids)


@device_router.put(
    "/events/{event_id}/snapshot",
    status_code=204,
    responses={409: ERRORS[409], 413: ERRORS[413]},
    openapi_extra={
        "requestBody": {
            "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}
        }
    },
)
async def upload_snapshot(
    event_id: EventId, request: Request, state: State, authorization: Auth = None
) -> None:
    """The best shot of a stored event (idempotent: sending it again replaces it); 409
    `event_unknown` while the event itself has not arrived."""
    await run_in_threadpool(_auth, state, authorization)  # before reading megabytes
    limit = int(state.config.server.max_upload_mb * 1024 * 1024)
    data = bytearray()
    async for chunk in request.stream():
        data.extend(chunk)
        if len(data) > limit:
            raise UploadTooLarge(f"a best shot is at most {state.config.server.max_upload_mb} MB")
    await run_in_threadpool(_store_snapshot, state, authorization, event_id, bytes(data))


def _auth(state: State, authorization: str | None) -> None:
    with state.sessions() as session:
        _device(session, authorization)


def _store_snapshot(state: State, authorization: str | None, event_id: str, jpeg: bytes) -> None:
    with state.sessions() as session:
        d = _device(session, authorization)
        device_events.store_snapshot(session, state.gallery.vault, d.id, event_id, jpeg)
        session.commit()
