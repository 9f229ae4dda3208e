"""Every failure a user can cause has its own exception with a message fit to print.

The CLI and the REST API turn these into an exit code or a 4xx without a traceback;
anything else escaping is a bug.
"""

from __future__ import annotations


class FaceGateError(Exception):
    """Base class: the message is written for the person at the terminal."""

    code = "error"


class ImageError(FaceGateError):
    """The input is not a usable image (unreadable, truncated, not an image, too large)."""

    code = "bad_image"


class ImageTooLargeError(ImageError):
    code = "image_too_large"


class NoFaceError(FaceGateError):
    code = "no_face"


class MultipleFacesError(FaceGateError):
    code = "several_faces"


class FaceQualityError(FaceGateError):
    """A face was found but is not good enough to enrol; the message names the value and
    `reason` which check failed (too_small, too_blurry, too_dark, too_bright, looking_away),
    so a UI can say it in plain words without parsing the message."""

    code = "low_quality"

    def __init__(self, message: str, reason: str = "low_quality") -> None:
        super().__init__(message)
        self.reason = reason


class OtherResidentFaceError(FaceGateError):
    """An enrolment photo whose face already belongs to another enrolled person: enrolling it
    would make the door confuse the two. Refused unless the operator confirms."""

    code = "face_of_other_resident"


class ModelError(FaceGateError):
    """A model file is missing, corrupt, or cannot be loaded."""

    code = "model_error"


class GalleryError(FaceGateError):
    """The gallery database cannot be used as asked (missing, locked, wrong model version)."""

    code = "gallery_error"


class ModelVersionMismatch(GalleryError):
    code = "model_version_mismatch"


class ConfigError(FaceGateError):
    code = "config_error"


class DataError(FaceGateError):
    """Evaluation data is missing or malformed."""

    code = "data_error"
