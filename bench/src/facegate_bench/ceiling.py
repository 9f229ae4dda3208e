"""The door benchmark's visits as still photos: the best any threshold could do.

Every rendered visit of `bench door` comes from one LFW photo, and rendering only takes
information away (a smaller, blurred, noisier face), so a visit's evidence is bounded by what
the photo itself scores against the gallery. This module takes the same plan (same residents,
enrolment photos, visits and strangers for a seed), enrols through the normal path, scores each
visit photo once with every recogniser, and asks, per scorer and for the door's two-gate rule:
with the threshold(s) set *in hindsight on this very stranger set* so that not one false open
happens, how many residents are still missed?

That is an optimistic bound, not a policy: a real threshold is set before the strangers come,
and the clips score lower than the stills. If the bound itself misses more residents than a
target allows, no threshold rule over these recognisers meets the target on this benchmark;
a stronger recogniser is needed (`engine.recognizers` takes a user's ArcFace-layout ONNX file,
and this report measures it the same way).
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from facegate import api
from facegate.engine import FaceEngine
from facegate.errors import ConfigError
from facegate.gallery.matcher import Gallery
from facegate.gallery.store import SQLiteGallery
from facegate_bench.door import Visit, lfw_people, plan
from facegate_bench.lfw import centre_face

STRANGER, NOT_ENROLLED = -1, -2


@dataclass
class StillScores:
    """Per model, a (visits x residents) matrix of best-template scores; -inf where the photo
    gave no face. `truth[i]` is the column of visit i's resident, STRANGER for a stranger,
    NOT_ENROLLED for a resident none of whose photos passed enrolment (always a miss)."""

    names: list[str]
    visits: list[Visit]
    truth: np.ndarray
    scores: dict[str, np.ndarray]
    no_face: int
    #: face width (px) -> the fast model's matrix for resident photos shrunk to that width
    small: dict[int, np.ndarray]


def score_plan(
    engine: FaceEngine,
    root: Path,
    enrol: dict[str, list[str]],
    visits: list[Visit],
    *,
    widths: tuple[int, ...] = (),
    progress: bool = True,
) -> StillScores:
    """Enrol the plan's residents as `bench door` does, then score every visit photo (its
    largest face) against them with every configured recogniser; resident photos also with
    the fast model after shrinking the face to each of `widths` (the approach of a visit)."""
    from tqdm import tqdm

    models = engine.model_names
    with tempfile.TemporaryDirectory() as tmp, SQLiteGallery(Path(tmp) / "g.sqlite") as store:
        for name, rels in tqdm(enrol.items(), desc="enrol", disable=not progress):
            paths = [root / "gray" / r for r in rels]
            api.enroll(engine, store, name, paths, confirm_other_person=True)  # distinct people
        galleries = {m: Gallery(store.templates(m), engine.version(m)) for m in models}
    first = galleries[models[0]]
    pids = sorted(set(int(p) for p in first.person_ids))
    names = [first.names[p] for p in pids]
    column = {n: i for i, n in enumerate(names)}
    scores = {m: np.full((len(visits), len(pids)), -np.inf, np.float32) for m in models}
    truth = np.array(
        [column.get(v.person, NOT_ENROLLED) if v.kind == "resident" else STRANGER for v in visits]
    )
    small = {w: np.full((len(visits), len(pids)), -np.inf, np.float32) for w in widths}
    fast = engine.config.model
    no_face = 0

    def row(model: str, image: np.ndarray, face) -> list[float]:
        per_person = galleries[model].scores(engine.embed(image, face, model=model))
        return [per_person.get(p, -np.inf) for p in pids]

    for i, visit in enumerate(tqdm(visits, desc="stills", disable=not progress)):
        image = cv2.imread(str(root / "gray" / visit.image), cv2.IMREAD_COLOR)
        faces = engine.detect(image) if image is not None else []
        if not faces:
            no_face += 1
            continue
        faces = [centre_face(faces, image.shape)]  # LFW's person, the head the clip shows
        for m in models:
            scores[m][i] = row(m, image, faces[0])
        if visit.kind != "resident":
            continue
        for w in widths:
            scale = w / float(faces[0].bbox[2])
            if scale >= 1:  # never upscale: the photo's own face is already that small
                small[w][i] = scores[fast][i]
                continue
            shrunk = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            found = engine.detect(shrunk)
            if found:
                small[w][i] = row(fast, shrunk, centre_face(found, shrunk.shape))
    return StillScores(names, visits, truth, scores, no_face, small)


def fused(engine: FaceEngine, s: StillScores) -> np.ndarray:
    """`engine.fuse` (mean impostor z-score of every model), per visit and resident."""
    return np.mean(
        [engine.calibration(m).normalise(s.scores[m]) for m in engine.model_names], axis=0
    )


def _pick(votes: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The resident each visit would be opened for (argmax of the voting score) and whether
    that is the right one - never for a stranger or a resident who is not enrolled."""
    who = votes.argmax(1)
    right = who == truth  # never for STRANGER / NOT_ENROLLED
    return who, right


def ceiling(votes: np.ndarray, truth: np.ndarray, confirm: np.ndarray | None = None) -> dict:
    """Fewest missed residents with zero false opens, thresholds chosen in hindsight.

    One gate: open the best-scoring resident if its score >= t. Two gates (`confirm` given):
    the best resident by `votes` must also pass a second threshold on `confirm`, as the door's
    vote-then-confirm rule does. Anyone opened as somebody else (a stranger, or a resident
    whose best match is another resident) is a false open.
    """
    rows = np.arange(len(truth))
    who, right = _pick(votes, truth)
    a = votes[rows, who]
    b = confirm[rows, who] if confirm is not None else np.zeros_like(a)
    imp = ~right & np.isfinite(a)
    residents = int((truth != STRANGER).sum())
    wrong_best = int(((truth != STRANGER) & ~right).sum())
    ga, gb = a[right], b[right]
    ia, ib = a[imp], b[imp]

    best = (residents + 1, None, None)
    for ta in np.unique(np.concatenate([ga, [np.inf]])):
        # the confirm threshold must clear every impostor that passes the vote threshold
        over = ib[ia >= ta]
        tb = np.nextafter(over.max(), np.inf) if over.size else -np.inf
        missed = wrong_best + int((~((ga >= ta) & (gb >= tb))).sum())
        if missed < best[0]:
            best = (missed, float(ta), float(tb))
    missed, ta, tb = best
    out = {
        "residents": residents,
        "strangers": int((truth == STRANGER).sum()),
        "missed": missed,
        "missed_pct": round(100.0 * missed / max(residents, 1), 2),
        "best_match_is_someone_else": wrong_best,
        "threshold": _r(ta),
    }
    if confirm is not None:  # rounded up: a threshold that, as printed, still clears them
        out["confirm_threshold"] = (
            None if not np.isfinite(tb) else float(np.ceil(tb * 1e4 + 1e-6) / 1e4)
        )
    out["highest_impostor"] = _r(float(ia.max())) if ia.size else None
    return out


def at_thresholds(
    votes: np.ndarray,
    truth: np.ndarray,
    t: float,
    confirm: np.ndarray | None = None,
    tc: float | None = None,
) -> dict:
    """False opens and misses of a fixed (calibrated) rule, for comparison with the bound."""
    rows = np.arange(len(truth))
    who, right = _pick(votes, truth)
    opened = votes[rows, who] >= t
    if confirm is not None:
        opened &= confirm[rows, who] >= tc
    residents = truth != STRANGER
    missed = int((residents & ~(opened & right)).sum())
    wrong = np.flatnonzero(opened & ~right)
    return {
        "false_opens": len(wrong),
        "missed": missed,
        "missed_pct": round(100.0 * missed / max(int(residents.sum()), 1), 2),
        # (visit row, resident column) of each false open, for the report to name
        "false_open_pairs": [(int(i), int(who[i])) for i in wrong],
    }


def upper_bound(k: int, n: int, confidence: float = 0.95) -> float:
    """One-sided Clopper-Pearson upper bound of a rate seen k times in n trials (k = 0 gives
    the exact form of the 'rule of three', 3/n at 95 %)."""
    if n <= 0:
        return 1.0
    if k >= n:
        return 1.0

    def cdf(p: float) -> float:  # P(X <= k) for X ~ Binomial(n, p), in log space
        return sum(
            math.exp(
                math.lgamma(n + 1)
                - math.lgamma(i + 1)
                - math.lgamma(n - i + 1)
                + i * math.log(p)
                + (n - i) * math.log1p(-p)
            )
            for i in range(k + 1)
        )

    lo, hi = k / n, 1.0
    for _ in range(60):  # bisection: cdf falls as p rises
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid) > 1 - confidence else (lo, mid)
    return hi


def per_visit(
    votes: np.ndarray, truth: np.ndarray, t: float, confirm: np.ndarray, tc: float
) -> dict:
    """How often a *stranger visit* passes each gate of the vote-then-confirm rule, with 95 %
    upper bounds: the per-visit false-open rate the door is exposed to, as opposed to the
    per-comparison FMR the thresholds are calibrated for. A visit compares its photo with every
    template of every resident (max over templates, then the best resident), so a gate at FMR
    1e-5 per comparison is passed by far more than 1e-5 of strangers. `independent` multiplies
    the two gates' per-visit rates (the confirm gate taken on each stranger's best resident by
    the vote, whether or not the vote passed): what the pair would give if the two models
    erred independently; `impostor_correlation` (Pearson, over every stranger x resident cell)
    says how far they do not."""
    strangers = truth == STRANGER
    rows = np.flatnonzero(strangers)
    who = votes[rows].argmax(1)
    a, b = votes[rows, who], confirm[rows, who]
    n = len(rows)
    k_vote, k_conf, k_both = (
        int((a >= t).sum()),
        int((b >= tc).sum()),
        int(((a >= t) & (b >= tc)).sum()),
    )
    va, vb = votes[rows].ravel(), confirm[rows].ravel()
    ok = np.isfinite(va) & np.isfinite(vb)
    corr = float(np.corrcoef(va[ok], vb[ok])[0, 1]) if ok.sum() > 2 else None

    def rate(k: int) -> dict:
        return {"k": k, "rate": k / max(n, 1), "upper95": upper_bound(k, n)}

    return {
        "strangers": n,
        "vote": rate(k_vote),
        "confirm": rate(k_conf),
        "both": rate(k_both),
        "independent": (k_vote / max(n, 1)) * (k_conf / max(n, 1)),
        "impostor_correlation": None if corr is None else round(corr, 3),
    }


def recognised(votes: np.ndarray, truth: np.ndarray, t: float) -> float:
    """Percentage of resident visits whose best match is right and at or above `t`."""
    who, right = _pick(votes, truth)
    ok = right & (votes[np.arange(len(truth)), who] >= t)
    residents = truth != STRANGER
    return round(100.0 * float(ok[residents].sum()) / max(int(residents.sum()), 1), 2)


def _r(x: float | None) -> float | None:
    return None if x is None or not np.isfinite(x) else round(x, 4)


def run(
    engine: FaceEngine,
    root: Path,
    *,
    residents: int = 100,
    enrol_photos: int = 5,
    min_enrol_photos: int = 3,
    visits_per_resident: int = 3,
    strangers: int = 2000,
    seed: int = 0,
    fmr: float = 1e-5,
    confirm_fmr: float = 1e-4,
    widths: tuple[int, ...] = (48, 64, 96),
    progress: bool = True,
) -> dict:
    """The bound for each recogniser alone, their fusion, and the vote-then-confirm rule;
    beside each, the calibrated rule at `fmr` (and `confirm_fmr` for the confirmation); and
    the share of residents the fast model recognises at `fmr` when the face is `widths` px
    wide (a visit's first frames; the clips start at 36-60 px)."""
    enrol, visits = plan(
        lfw_people(root),
        residents,
        enrol_photos,
        visits_per_resident,
        strangers,
        seed,
        min_enrol_photos,
    )
    s = score_plan(engine, root, enrol, visits, widths=widths, progress=progress)
    models = engine.model_names
    fast = engine.config.model
    report: dict = {
        "seed": seed,
        "fast_model": fast,
        "fmr": fmr,
        "residents_enrolled": len(s.names),
        "resident_visits": int((s.truth != STRANGER).sum()),
        "stranger_visits": int((s.truth == STRANGER).sum()),
        "residents_not_enrolled": int((s.truth == NOT_ENROLLED).sum()),
        "no_face": s.no_face,
        "bound": {},
        "calibrated": {},
        "per_visit": {},
        "recognised_by_face_width": {},
    }
    t = engine.threshold(fast, fmr)
    for w, m in [*s.small.items(), ("photo", s.scores[fast])]:
        report["recognised_by_face_width"][str(w)] = recognised(m, s.truth, t)
    for m in models:
        report["bound"][m] = ceiling(s.scores[m], s.truth)
        report["calibrated"][f"{m} at {fmr:g}"] = at_thresholds(
            s.scores[m], s.truth, engine.threshold(m, fmr)
        )
    # every ordered pair: which model votes on each shot and which confirms (the door's rule)
    for voter, other in ((a, b) for a in models for b in models if a != b):
        rule = f"{voter} votes, {other} confirms"
        report["bound"][rule] = ceiling(s.scores[voter], s.truth, s.scores[other])
        rule_at = f"{voter} at {fmr:g}, {other} at {confirm_fmr:g}"
        t, tc = engine.threshold(voter, fmr), engine.threshold(other, confirm_fmr)
        report["calibrated"][rule_at] = at_thresholds(
            s.scores[voter], s.truth, t, s.scores[other], tc
        )
        report["per_visit"][rule_at] = pv = per_visit(
            s.scores[voter], s.truth, t, s.scores[other], tc
        )
        # how often the confirmation passes once a stranger passed the vote, at looser votes
        # (more strangers get that far): the factor a vote gate's per-visit rate is cut by
        pv["confirm_given_vote"] = {}
        for looser in sorted({1e-3, 1e-4, fmr}, reverse=True):
            lv = per_visit(
                s.scores[voter], s.truth, engine.threshold(voter, looser), s.scores[other], tc
            )
            pv["confirm_given_vote"][f"{looser:g}"] = [lv["both"]["k"], lv["vote"]["k"]]
    if len(models) > 2:  # the fusion of each pair (mean impostor z-score of the two)
        for i, a in enumerate(models):
            for b in models[i + 1 :]:
                pair = np.mean([engine.calibration(m).normalise(s.scores[m]) for m in (a, b)], 0)
                report["bound"][f"fusion {a}+{b}"] = ceiling(pair, s.truth)
    if len(models) > 1:
        f = fused(engine, s)
        report["bound"]["fusion"] = ceiling(f, s.truth)
        report["bound"][f"{fast} votes, fusion confirms"] = ceiling(s.scores[fast], s.truth, f)
        try:
            report["calibrated"][f"fusion at {fmr:g}"] = at_thresholds(
                f, s.truth, engine.fusion_calibration().threshold(fmr)
            )
        except ConfigError as exc:  # a user's model pair without a fusion calibration
            report["notes"] = [f"no calibrated fusion rule: {exc}"]
    for r in report["calibrated"].values():  # name who was let in as whom, to check by eye
        r["false_open_pairs"] = [
            f"{s.visits[i].image} ({s.visits[i].kind}) as {s.names[j]}"
            for i, j in r["false_open_pairs"]
        ]
    return report


def to_text(report: dict) -> str:
    lines = [
        f"seed {report['seed']}: {report['resident_visits']} resident visits "
        f"({report['residents_not_enrolled']} of residents with no enrolled photo), "
        f"{report['stranger_visits']} strangers, {report['no_face']} photos without a face",
        "bound: fewest missed residents with 0 false opens, thresholds picked in hindsight "
        "on these strangers (optimistic)",
    ]
    for rule, r in report["bound"].items():
        tc = (
            ""
            if "confirm_threshold" not in r
            else f" / {r['confirm_threshold'] if r['confirm_threshold'] is not None else '-'}"
        )
        lines.append(
            f"  {rule:32s} missed {r['missed']:4d} ({r['missed_pct']:5.2f} %)  "
            f"threshold {r['threshold']}{tc}"
        )
    lines.append("calibrated rules on the same stills:")
    for w, pct in report.get("recognised_by_face_width", {}).items():
        size = "the photo as it is" if w == "photo" else f"face {w} px wide"
        lines.append(
            f"  {report['fast_model']} at {report['fmr']:g}, {size}: {pct:.2f} % of "
            "residents recognised"
        )
    for rule, r in report["calibrated"].items():
        lines.append(
            f"  {rule:32s} missed {r['missed']:4d} ({r['missed_pct']:5.2f} %)  "
            f"false opens {r['false_opens']}"
        )
        let_in = r.get("false_open_pairs", [])
        lines += [f"    let in: {who}" for who in let_in[:5]]
        if len(let_in) > 5:
            lines.append(f"    ... and {len(let_in) - 5} more (all in the JSON)")
    if report.get("per_visit"):
        lines.append("stranger visits passing each gate (k, rate, 95 % upper bound):")
    for rule, r in report.get("per_visit", {}).items():
        gates = ", ".join(
            f"{g} {r[g]['k']} ({r[g]['rate']:.2e} <= {r[g]['upper95']:.2e})"
            for g in ("vote", "confirm", "both")
        )
        lines.append(
            f"  {rule:32s} {gates}; if independent {r['independent']:.1e}, "
            f"impostor correlation {r['impostor_correlation']}"
        )
        given = r.get("confirm_given_vote", {})
        if given:
            lines.append(
                "    confirmation passed / strangers past the vote, by the vote's FMR: "
                + ", ".join(f"{f}: {both}/{vote}" for f, (both, vote) in given.items())
            )
    return "\n".join(lines + report.get("notes", []))
