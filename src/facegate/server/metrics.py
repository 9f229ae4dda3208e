"""Prometheus metrics, on a registry owned by one app (no process-global collectors)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from facegate.runtime.events import DoorEvent


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.fps = Gauge(
            "facegate_frames_per_second",
            "Frames processed per second, last interval",
            ["entrance"],
            registry=self.registry,
        )
        self.frames = Counter(
            "facegate_frames", "Frames processed", ["entrance"], registry=self.registry
        )
        self.events = Counter(
            "facegate_events",
            "Door events by decision",
            ["entrance", "decision"],
            registry=self.registry,
        )
        self.door_failures = Counter(
            "facegate_door_failures",
            "Opens whose door adapter did not actuate (journalled as open_failed)",
            ["entrance"],
            registry=self.registry,
        )
        self.time_to_open = Histogram(
            "facegate_time_to_open_seconds",
            "From first sight of a resident to the open command",
            ["entrance"],
            registry=self.registry,
            buckets=(0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0),
        )

    def record(self, event: DoorEvent) -> None:
        self.events.labels(event.entrance, event.decision.value).inc()
        if event.time_to_open_ms is not None:
            self.time_to_open.labels(event.entrance).observe(event.time_to_open_ms / 1000.0)

    def render(self) -> bytes:
        return generate_latest(self.registry)
