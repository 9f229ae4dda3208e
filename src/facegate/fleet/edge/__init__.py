"""The edge agent (`facegate edge`): a device beside the cameras that runs its entrances from
a local, signed copy of what the server decided (`store`), sends its events up through a
durable outbox (`outbox`), keeps both in step with the server over MQTT and HTTP (`sync`),
and assembles the entrances exactly as `facegate run` does (`agent`).

Nothing here imports the server: the device and the server share only `fleet.protocol`.
"""

from __future__ import annotations

from facegate.errors import FaceGateError


class EdgeError(FaceGateError):
    """The edge agent cannot do what was asked (not enrolled, enrolment refused, a local
    file unusable); the message says what to do."""

    code = "edge_error"
