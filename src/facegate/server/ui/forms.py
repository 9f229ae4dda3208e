"""The entrance settings form of the web UI: what its fields show, and how a submitted form
becomes the API's own request model (`EntranceIn` / `EntranceUpdate`), so a form is
validated exactly as a JSON body is and stored by the same operations.

A form carries the settings people change at a door (source, door adapter and its fields,
how strict it is, liveness); every other setting of a section is kept as stored. The door's
fields are generated from the adapters' models (`door_fields`); strictness is a preset
(`presets`) unless "custom", when the numbers typed are used.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

from pydantic import ConfigDict, Field, ValidationError, create_model

from facegate.config import RuntimeConfig
from facegate.server.schemas import EntranceIn, EntranceOut, EntranceUpdate
from facegate.server.ui.door_fields import ALL_FIELDS, DOOR_KINDS, door_of, form_values
from facegate.server.ui.presets import BY_KEY, preset_of

CHECKS = ("passive", "motion", "challenge")
# "default": LivenessConfig's own choice (motion, plus passive when a model is set)
LIVENESS_CHOICES = ["default", "off"] + [
    "+".join(c) for n in range(1, len(CHECKS) + 1) for c in combinations(CHECKS, n)
]
PACES = ("realtime", "simulated", "fast")
UNDECIDED = ("wait", "allow", "challenge")
CONFIRM_BY = ("model", "fusion")
LABELS = {
    "name": "Name",
    "source": "Source",
    "door": "Door adapter",
    "decision": "Thresholds",
    "liveness": "Liveness",
    "enabled": "Enabled",
}


class FormError(Exception):
    """The form cannot become a request: one message per problem, worded for the page."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


# one form field per adapter field (`door_<kind>_<name>`): text as the browser sends it
_DoorFields = create_model(
    "_DoorFields",
    __config__=ConfigDict(extra="ignore"),
    **{
        f.key: (bool, False) if f.widget == "checkbox" else (str, Field("", max_length=20000))
        for f in ALL_FIELDS
    },
)


class EntranceForm(_DoorFields):  # type: ignore[misc,valid-type]
    """The fields of the form, as text (what the browser sends back); the route parses a
    posted form straight into it. An unticked checkbox is absent from a post, so checkboxes
    default to False; `new` and `of` fill every field for display."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field("", max_length=200)
    enabled: bool = False
    uri: str = Field("", max_length=2000)
    pace: str = Field("realtime", max_length=20)
    door_kind: str = Field("log", max_length=20)
    preset: str = Field("custom", max_length=20)  # a post without one: the numbers typed
    fmr: str = Field("", max_length=40)
    confirm: bool = False
    confirm_by: str = Field("model", max_length=20)
    confirm_fmr: str = Field("", max_length=40)
    fusion_fmr: str = Field("", max_length=40)
    min_votes: str = Field("", max_length=40)
    live_checks: str = Field("default", max_length=40)
    pad_model: str = Field("", max_length=2000)
    on_undecided: str = Field("wait", max_length=20)

    @classmethod
    def _from(
        cls,
        name: str,
        enabled: bool,
        source: dict | None,
        door: dict,
        decision: dict,
        liveness: dict,
    ) -> EntranceForm:
        checks = liveness.get("checks")
        return cls(
            name=name,
            enabled=enabled,
            uri=source["uri"] if source else "",
            pace=source.get("pace", "realtime") if source else "realtime",
            door_kind=door.get("kind", "log"),
            preset=preset_of(decision),
            **form_values(door),
            fmr=f"{decision['fmr']:g}",
            confirm=bool(decision["confirm"]),
            confirm_by=decision.get("confirm_by", "model"),
            confirm_fmr=f"{decision['confirm_fmr']:g}",
            fusion_fmr=f"{decision['fusion_fmr']:g}",
            min_votes=str(decision["min_votes"]),
            live_checks=(
                "default" if checks is None else "+".join(c for c in CHECKS if c in checks) or "off"
            ),
            pad_model=liveness.get("model") or "",
            on_undecided=liveness.get("on_undecided", "wait"),
        )

    @classmethod
    def of(cls, e: EntranceOut) -> EntranceForm:
        """The form of a stored entrance."""
        return cls._from(
            e.name,
            e.enabled,
            e.source.model_dump(mode="json") if e.source else None,
            e.door.model_dump(mode="json"),
            e.decision.model_dump(mode="json"),
            e.liveness.model_dump(mode="json"),
        )

    @classmethod
    def new(cls, rc: RuntimeConfig) -> EntranceForm:
        """A new entrance's form: the site's defaults (`runtime:`), a log-only door."""
        return cls._from(
            "",
            True,
            None,
            {"kind": "log"},
            rc.decision.model_dump(mode="json"),
            rc.liveness.model_dump(mode="json"),
        )

    def _sections(self, source: dict | None, decision: dict, liveness: dict) -> dict[str, Any]:
        """The request body's sections: the form's fields over the stored (or default) ones."""
        errors: list[str] = []
        if self.door_kind not in DOOR_KINDS:
            errors.append(f"Door adapter: {self.door_kind}? choose one of {', '.join(DOOR_KINDS)}")
        door, problems = door_of(self.door_kind, self.model_dump())
        errors += [f"{LABELS['door']} ({label}): {why}" for label, why in problems]
        preset = BY_KEY.get(self.preset)
        if preset is not None:
            decision = {**decision, **preset.decision}
        elif self.preset != "custom":
            errors.append(f"Strictness: {self.preset}? choose one of {', '.join(BY_KEY)} or custom")
        else:
            decision = {**decision, "confirm": self.confirm, "confirm_by": self.confirm_by}
            for key in ("fmr", "confirm_fmr", "fusion_fmr", "min_votes"):
                value = getattr(self, key).strip()
                if value:
                    decision[key] = value
        if self.live_checks not in LIVENESS_CHOICES:
            errors.append(f"Liveness checks: choose one of {', '.join(LIVENESS_CHOICES)}")
        checks = (
            None
            if self.live_checks == "default"
            else []
            if self.live_checks == "off"
            else self.live_checks.split("+")
        )
        liveness = {
            **liveness,
            "checks": checks,
            "model": self.pad_model.strip() or None,
            "on_undecided": self.on_undecided,
        }
        if errors:
            raise FormError(errors)
        uri = self.uri.strip()
        body: dict[str, Any] = {
            "name": self.name.strip(),
            "enabled": self.enabled,
            "door": door,
            "decision": decision,
            "liveness": liveness,
        }
        if uri:
            body["source"] = {**(source or {}), "uri": uri, "pace": self.pace}
        return body

    def create_body(self, rc: RuntimeConfig) -> EntranceIn:
        body = self._sections(
            None, rc.decision.model_dump(mode="json"), rc.liveness.model_dump(mode="json")
        )
        return _validate(EntranceIn, body)

    def update_body(self, stored: EntranceOut) -> EntranceUpdate:
        body = self._sections(
            stored.source.model_dump(mode="json") if stored.source else None,
            stored.decision.model_dump(mode="json"),
            stored.liveness.model_dump(mode="json"),
        )
        if "source" not in body:
            body["clear_source"] = True
        return _validate(EntranceUpdate, body)


def _validate(model: type[EntranceIn] | type[EntranceUpdate], body: dict[str, Any]):
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise FormError([_message(e) for e in exc.errors()]) from None


def _message(e: Any) -> str:
    """'Thresholds (fmr): Input should be less than 1' rather than a pydantic location."""
    loc = [str(p) for p in e["loc"]]
    head = LABELS.get(loc[0], loc[0]) if loc else "Form"
    # discriminated unions put the kind in the path: "door.webhook.url" -> "url"
    rest = [p for p in loc[1:] if p not in DOOR_KINDS]
    return f"{head} ({'.'.join(rest)}): {e['msg']}" if rest else f"{head}: {e['msg']}"
