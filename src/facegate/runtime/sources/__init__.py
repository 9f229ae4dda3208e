"""Where frames come from: a live camera, or a file/folder replayed like one.

A door acts on what is in front of it *now*, so every source hands out the newest frame not
yet returned and drops what the consumer was too slow for, instead of queueing latency.
Files and folders replay at one of three paces:

- "fast": every frame in order, as fast as the consumer reads (accuracy runs);
- "realtime": frames due at their timestamps on a wall clock; late ones are skipped;
- "simulated": like realtime, but on a `VirtualClock` the consumer advances by its measured
  processing time, so a benchmark behaves like a live camera, deterministically, without waiting.

Frame times are on the source's clock: for paced replay, stream time (index / fps) plus the
clock reading at the first read (so `clock.now() - frame.t` is the latency for every source);
for "fast", plain stream time; for cameras, `time.monotonic()` at grab. Which clock a pace
runs on is one rule, `clock_for(pace)`: "realtime" a `WallClock`, "simulated" and "fast" a
`VirtualClock` (see `clock.py` for why "fast" is virtual too).

The modules, one concern each:

- `base`: `Frame`, the `Source` protocol, `SourceError`, paces, file suffixes, URL schemes;
- `clock`: `Clock`, `WallClock`, `VirtualClock`, `clock_for`;
- `config`: `SourceConfig`, the configuration section (a leaf, no decoders);
- `files`: paced replay of video files, image folders and in-memory frames;
- `camera`: live cameras with reconnects, `redact`, `is_camera_spec`;
- `factory`: `open_source` and `source_from_config`, a spec to the right source.

Everything public is re-exported here, so `from facegate.runtime.sources import X` works.
"""

from facegate.runtime.sources.base import (
    IMAGE_SUFFIXES,
    PACES,
    URL_SCHEMES,
    Frame,
    Pace,
    Source,
    SourceError,
)
from facegate.runtime.sources.camera import (
    CameraSource,
    Capture,
    StatusCallback,
    default_capture_factory,
    is_camera_spec,
    redact,
)
from facegate.runtime.sources.clock import Clock, VirtualClock, WallClock, clock_for
from facegate.runtime.sources.config import SourceConfig
from facegate.runtime.sources.factory import open_source, source_from_config
from facegate.runtime.sources.files import FrameListSource, ImageFolderSource, VideoFileSource

__all__ = [
    "IMAGE_SUFFIXES",
    "PACES",
    "URL_SCHEMES",
    "CameraSource",
    "Capture",
    "Clock",
    "Frame",
    "FrameListSource",
    "ImageFolderSource",
    "Pace",
    "Source",
    "SourceConfig",
    "SourceError",
    "StatusCallback",
    "VideoFileSource",
    "VirtualClock",
    "WallClock",
    "clock_for",
    "default_capture_factory",
    "is_camera_spec",
    "open_source",
    "redact",
    "source_from_config",
]
