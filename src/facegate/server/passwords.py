"""The one password policy: user creation and password changes (API and UI) and the first
admin from `$FACEGATE_ADMIN_PASSWORD` all go through `password_problem`.

At least 8 characters, as NIST SP 800-63B asks of chosen passwords: a longer minimum mostly
moves people to predictable padding ("Summer2024!!"), which the refusal list catches better.
What makes a password guessable is being common, so the list (`common_passwords.txt`, shipped
in the package) is checked against the password and against its core: digits and symbols at
either end stripped and the usual letter swaps undone, so "P@ssw0rd!", "facegate2024" and
"Qwerty123" are refused with "password", "facegate" and "qwerty". The username itself (also
with digits added) and passwords of fewer than 4 different characters are refused too.
Throttling (`operations.throttle`) and argon2 do the rest against online guessing.
"""

from __future__ import annotations

import string
from functools import cache
from pathlib import Path

from facegate.server.errors import WeakPassword

MIN_LENGTH = 8
MAX_LENGTH = 256
MIN_DISTINCT = 4
LIST = Path(__file__).with_name("common_passwords.txt")
_EDGES = string.digits + string.punctuation + string.whitespace
_SWAPS = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a",
                        "$": "s", "!": "i", "|": "l"})  # fmt: skip


@cache
def common_passwords() -> frozenset[str]:
    """The refusal list, read once (a few KB)."""
    lines = LIST.read_text(encoding="utf-8").splitlines()
    return frozenset(s.strip().lower() for s in lines if s.strip() and not s.startswith("#"))


def _cores(password: str) -> set[str]:
    lower = password.lower()
    core = lower.strip(_EDGES)
    swapped = core.translate(_SWAPS)
    return {lower, core, swapped, swapped.replace("i", "l"), lower.translate(_SWAPS)} - {""}


def password_problem(password: str, username: str = "") -> str | None:
    """Which rule `password` breaks, as a sentence to show; None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"a password needs at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"a password may have at most {MAX_LENGTH} characters"
    if len(set(password)) < MIN_DISTINCT:
        return f"a password needs at least {MIN_DISTINCT} different characters"
    cores = _cores(password)
    name = username.strip().lower()
    if name and name in cores:
        return "a password must not be the username"
    if cores & common_passwords():
        return "this password is on the list of common passwords; choose a less common one"
    return None


def require_strong(password: str, username: str = "") -> None:
    """Refuse a weak new password (`WeakPassword`, the message naming the rule)."""
    problem = password_problem(password, username)
    if problem:
        raise WeakPassword(problem)
