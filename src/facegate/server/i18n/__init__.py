"""The web UI's languages: English (the source strings) and Russian.

A small dictionary catalogue rather than Babel/gettext: the UI has a few hundred strings
in two languages, and a Python dict needs no compile step (.po -> .mo) in the build, no
extra dependency, and is read by the tests as it is shipped. A string missing from a
catalogue shows in English, never as an error. Strings are `str.format` templates; the
values (names, reasons) are passed separately, so a name with braces in it is never read
as a template.

The language is the `fg_lang` cookie when it names a shipped language (the header's
switch sets it), else the best of the browser's `Accept-Language`, else English.
"""

from __future__ import annotations

from facegate.server.i18n.ru import RU

LANGUAGES = {"en": "English", "ru": "Русский"}
DEFAULT = "en"
COOKIE = "fg_lang"
_CATALOGS: dict[str, dict[str, str | tuple[str, str, str]]] = {"ru": RU}


def _ru_form(n: int) -> int:
    """Russian plural form: 1 книга, 2 книги, 5 книг (21 книга, 22 книги, 11 книг)."""
    if n % 10 == 1 and n % 100 != 11:
        return 0
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return 1
    return 2


class Translator:
    """`_("Dashboard")`, `_("Recognised {name}", name=...)`, `_.plural(one, many, n)`."""

    def __init__(self, lang: str = DEFAULT) -> None:
        self.lang = lang if lang in LANGUAGES else DEFAULT
        self._catalog = _CATALOGS.get(self.lang, {})

    def __call__(self, message: str, /, **values: object) -> str:
        text = self._catalog.get(message, message)
        if isinstance(text, tuple):  # a plural entry asked for without a count
            text = text[0]
        return text.format(**values) if values else text

    def plural(self, one: str, many: str, n: int, /, **values: object) -> str:
        """`one`/`many` are the English forms; `n` is also passed to the template as `n`."""
        text = self._catalog.get(one)
        if isinstance(text, tuple) and self.lang == "ru":
            chosen = text[_ru_form(n)]
        elif isinstance(text, str):
            chosen = text
        else:
            chosen = one if n == 1 else many
        return chosen.format(n=n, **values)


def negotiate(accept_language: str | None, cookie: str | None = None) -> str:
    """The language to answer in: the cookie's, else the browser's best shipped one."""
    if cookie in LANGUAGES:
        return cookie
    ranked: list[tuple[float, int, str]] = []
    for pos, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for p in params.split(";"):
            k, _, v = p.strip().partition("=")
            if k == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        base = tag.strip().lower().split("-")[0]
        if base in LANGUAGES and q > 0:
            ranked.append((-q, pos, base))
    return min(ranked)[2] if ranked else DEFAULT
