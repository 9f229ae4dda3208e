"""What the server's operations refuse, as `facegate.errors` does for the engine: one
`FaceGateError` subclass per kind of refusal, each with a stable `code` and a message fit to
show a person. Nothing here knows about HTTP: the REST API maps these to status codes in one
place (`facegate.server.api.errors.status_for`), the web UI to messages next to its forms.
"""

from __future__ import annotations

from facegate.errors import (
    FaceGateError,
    FaceQualityError,
    ImageError,
    ImageTooLargeError,
    MultipleFacesError,
    NoFaceError,
)


class ServerError(FaceGateError):
    """A request the server refuses because of what it asks, not because of a fault."""

    code = "refused"


class Invalid(ServerError):
    """A value the server cannot accept (beyond what the request models check)."""

    code = "bad_value"


class UnknownId(Invalid):
    """The request names an object (a resident, an entrance) that does not exist."""

    code = "unknown_id"


class BadSource(Invalid):
    code = "bad_source"


class BadLiveness(Invalid):
    code = "bad_liveness"


class BadThreshold(Invalid):
    code = "bad_threshold"


class BadCursor(Invalid):
    code = "bad_cursor"


class BadImport(Invalid):
    """A bulk import refused as a whole before any row was touched (not a CSV, not a zip,
    over a limit): nothing was changed, the message says what to fix."""

    code = "bad_import"


class SecretRequired(Invalid):
    """`***` (a masked secret read back) where no stored secret may be put back."""

    code = "secret_required"


class NotAllowed(Invalid):
    """A source, host or file outside what the server config lets an operator use."""

    code = "not_allowed"


class NotFound(ServerError):
    """The object the request is about does not exist."""

    code = "not_found"

    @classmethod
    def of(cls, what: str, ident: object) -> NotFound:
        return cls(f"no {what} with id {ident}")


class Conflict(ServerError):
    """The change clashes with what is stored."""

    code = "conflict"


class DuplicateName(Conflict):
    code = "duplicate_name"


class LastAdmin(Conflict):
    code = "last_admin"


class Disabled(Conflict):
    code = "disabled"


class Forbidden(ServerError):
    """The caller's role does not allow this."""

    code = "forbidden"


class BadCredentials(ServerError):
    code = "bad_credentials"


class WeakPassword(Invalid):
    """A new password the password policy refuses; the message names the rule."""

    code = "weak_password"


class TooManyAttempts(ServerError):
    """Sign-in refused without checking the password: too many recent failures for this
    account from this client, or from this client; `retry_after` is in seconds."""

    code = "too_many_attempts"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Busy(ServerError):
    """More face searches and enrolments at once than the server runs and queues
    (`server.inference_slots`, `server.inference_queue`); `retry_after` is in seconds."""

    code = "busy"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InviteRefused(ServerError):
    """An enrolment invite link that cannot be used: the person holding it is told which
    case it is (so they ask the manager for a new link) and nothing else about it."""

    code = "invite_refused"


class InviteUnknown(InviteRefused, NotFound):
    """No invite has this token (mistyped, or a link from another server)."""

    code = "invite_unknown"


class InviteExpired(InviteRefused):
    code = "invite_expired"


class InviteUsed(InviteRefused):
    """The link's photos were sent already: a link enrols once."""

    code = "invite_used"


class InviteRevoked(InviteRefused):
    code = "invite_revoked"


class CrossOrigin(Forbidden):
    """A cookie-authenticated change sent from another origin (CSRF)."""

    code = "cross_origin"


class PhotoRejected(ServerError):
    """An enrolment photo was refused; `cause` is the engine's reason (no face, too small,
    not an image, ...), whose code this error carries."""

    def __init__(self, message: str, cause: FaceGateError) -> None:
        super().__init__(message)
        self.cause = cause
        self.code = cause.code


class UploadTooLarge(ImageTooLargeError):
    """An upload above the server's size limit (a kind of image too large to take)."""

    code = "upload_too_large"


def photo_reason(exc: FaceGateError) -> str:
    """Why a photo was refused, as the stable word an API answer's `reason` and the UI's
    plain-language message are keyed on."""
    if isinstance(exc, NoFaceError):
        return "no_face"
    if isinstance(exc, MultipleFacesError):
        return "several_faces"
    if isinstance(exc, FaceQualityError):
        return exc.reason
    if isinstance(exc, ImageError):
        return "bad_file"
    return exc.code


# -- the fleet (edge devices) ---------------------------------------------------------------


class BadDeviceToken(BadCredentials):
    """An enrolment token that is unknown, expired or already used (a token enrols once)."""

    code = "bad_device_token"


class BadDeviceSecret(BadCredentials):
    """A device route called without the secret of an enrolled device."""

    code = "bad_device_secret"


class DeviceRevoked(BadCredentials):
    """The device was revoked: its secret stopped working at once."""

    code = "device_revoked"


class EventUnknown(Conflict):
    """A best shot for an event the server has not stored (yet): send the event first."""

    code = "event_unknown"


class FleetOff(Conflict):
    """A fleet action (a command to a device) on a server started without a broker."""

    code = "fleet_off"


class BrokerUnavailable(Busy):
    """The MQTT broker did not answer (e.g. while creating a device's login)."""

    code = "broker_unavailable"
