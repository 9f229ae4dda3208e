"""Landmark geometry the checks share: eye distance, eye aspect ratio and head turn from the
68 points, and the planar-motion fits (homographies and similarities between landmark sets,
and the residual/motion evidence of a pair of views). Pure NumPy: no state, no models.
"""

from __future__ import annotations

import numpy as np


def interocular(lm: np.ndarray) -> float:
    return float(np.linalg.norm(lm[36:42].mean(0) - lm[42:48].mean(0)))


def _interocular(lms: np.ndarray) -> np.ndarray:
    return np.linalg.norm(lms[:, 36:42].mean(1) - lms[:, 42:48].mean(1), axis=-1)


def eye_aspect_ratio(lm: np.ndarray) -> float:
    """Mean eye aspect ratio of both eyes (Soukupova & Cech 2016): ~0.3 open, <0.2 closed."""
    out = []
    for a in (36, 42):
        e = lm[a : a + 6]
        v = np.linalg.norm(e[1] - e[5]) + np.linalg.norm(e[2] - e[4])
        h = 2 * np.linalg.norm(e[0] - e[3])
        out.append(v / max(h, 1e-6))
    return float(np.mean(out))


def head_turn(lm: np.ndarray) -> float:
    """Nose tip against the face outline, in half face widths: 0 frontal, >0 turned so the nose
    moves to the image's right."""
    left, right = lm[0], lm[16]  # jaw ends at the ears
    mid = (left + right) / 2
    half = max(float(np.linalg.norm(right - left)) / 2, 1e-6)
    axis = (right - left) / (2 * half)
    return float((lm[30] - mid) @ axis / half)


# -- planar-motion geometry ----------------------------------------------------------------


def _normalise(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hartley normalisation of (..., n, 2) point sets: centroid 0, mean distance sqrt(2)."""
    c = p.mean(axis=-2, keepdims=True)
    q = p - c
    s = np.sqrt(2) / np.maximum(np.sqrt((q**2).sum(-1)).mean(-1, keepdims=True), 1e-9)
    return q * s[..., None], c, s


def fit_homography(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """Least-squares (DLT, normalised) homography a -> b of (n, 2) points; None if degenerate."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    an, ac, as_ = _normalise(a)
    bn, bc, bs = _normalise(b)
    x, y, u, v = an[:, 0], an[:, 1], bn[:, 0], bn[:, 1]
    one, zero = np.ones_like(x), np.zeros_like(x)
    A = np.concatenate(
        [
            np.stack([x, y, one, zero, zero, zero, -x * u, -y * u], 1),
            np.stack([zero, zero, zero, x, y, one, -x * v, -y * v], 1),
        ]
    )
    rhs = np.concatenate([u, v])
    try:
        h = np.linalg.solve(A.T @ A + 1e-9 * np.eye(8), A.T @ rhs)
    except np.linalg.LinAlgError:
        return None
    Hn = np.append(h, 1.0).reshape(3, 3)
    Na = np.array([[as_[0], 0, -as_[0] * ac[0, 0]], [0, as_[0], -as_[0] * ac[0, 1]], [0, 0, 1]])
    Nb_inv = np.array([[1 / bs[0], 0, bc[0, 0]], [0, 1 / bs[0], bc[0, 1]], [0, 0, 1]])
    H = Nb_inv @ Hn @ Na
    return H / H[2, 2] if abs(H[2, 2]) > 1e-12 else None


def homography_residuals(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """RMS distance (pixels) of each `b[k]` from the least-squares homography image of
    `a[k]`; a and b are (m, n, 2) (or (n, 2)). Linear (DLT on normalised points, h33 = 1),
    batched: a few hundred microseconds for a whole window of pairs."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    single = a.ndim == 2
    if single:
        a, b = a[None], b[None]
    an, _, _ = _normalise(a)
    bn, _bc, bs = _normalise(b)
    x, y = an[..., 0], an[..., 1]
    u, v = bn[..., 0], bn[..., 1]
    one, zero = np.ones_like(x), np.zeros_like(x)
    rows_u = np.stack([x, y, one, zero, zero, zero, -x * u, -y * u], -1)
    rows_v = np.stack([zero, zero, zero, x, y, one, -x * v, -y * v], -1)
    A = np.concatenate([rows_u, rows_v], axis=-2)  # (m, 2n, 8)
    rhs = np.concatenate([u, v], axis=-1)  # (m, 2n)
    AtA = A.transpose(0, 2, 1) @ A
    Atb = A.transpose(0, 2, 1) @ rhs[..., None]  # (m, 8, 1)
    try:
        h = np.linalg.solve(AtA + 1e-9 * np.eye(8), Atb)[..., 0]
    except np.linalg.LinAlgError:
        return np.full(len(a), np.inf)
    H = np.concatenate([h, np.ones((len(a), 1))], -1).reshape(-1, 3, 3)
    ph = np.concatenate([an, np.ones((*an.shape[:-1], 1))], -1) @ H.transpose(0, 2, 1)
    pred = ph[..., :2] / np.where(np.abs(ph[..., 2:]) < 1e-9, 1e-9, ph[..., 2:])
    err = np.sqrt(((pred - bn) ** 2).sum(-1).mean(-1)) / bs[..., 0]  # back to pixels
    return err[0] if single else err


def similarity_fit(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares similarity a -> b for (m, n, 2) pairs: (scale*rotation as complex
    numbers, RMS residual in pixels), each (m,)."""
    za = a[..., 0] + 1j * a[..., 1]
    zb = b[..., 0] + 1j * b[..., 1]
    za = za - za.mean(-1, keepdims=True)
    zb = zb - zb.mean(-1, keepdims=True)
    s = (np.conj(za) * zb).sum(-1) / np.maximum((np.abs(za) ** 2).sum(-1), 1e-12)
    res = np.sqrt((np.abs(za * s[..., None] - zb) ** 2).mean(-1))
    return s, res


def pair_evidence(old: np.ndarray, new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(residual, motion) between each of `old` (m, 68, 2) landmark sets and `new` (68, 2),
    both in inter-ocular units of the larger face.

    residual: what one homography cannot explain; a plane's is landmark noise only.
    motion: how much the view changed, whatever the object: the change of scale (approach) plus
    the deviation from a similarity (turning: foreshortening for a plane, parallax for a head).
    """
    old = np.asarray(old, np.float64).reshape(-1, 68, 2)
    new = np.asarray(new, np.float64)
    b = np.broadcast_to(new, old.shape)
    d = np.maximum(np.maximum(_interocular(old), interocular(new)), 1e-6)
    s, rs = similarity_fit(old, b)
    rh = homography_residuals(old, b)
    motion = np.abs(np.log(np.maximum(np.abs(s), 1e-6))) + rs / d
    return rh / d, motion
