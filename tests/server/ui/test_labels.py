"""Every form field of every page has a label (a screen reader says what to type, and a
phone user can tap the words to reach the field)."""

from __future__ import annotations

from html.parser import HTMLParser

from tests.server.conftest import ADMIN_PASSWORD, add_resident

FIELDS = {"input", "select", "textarea"}
UNLABELLED_TYPES = {"hidden", "submit", "button"}


class _Fields(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.in_label = 0
        self.label_for: set[str] = set()
        self.fields: list[tuple[dict, bool]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "label":
            self.in_label += 1
            if a.get("for"):
                self.label_for.add(a["for"])
        elif tag in FIELDS and a.get("type") not in UNLABELLED_TYPES:
            self.fields.append((a, self.in_label > 0 or bool(a.get("aria-label"))))

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.in_label -= 1

    def unlabelled(self) -> list[dict]:
        return [a for a, ok in self.fields if not ok and a.get("id") not in self.label_for]


def test_every_field_is_labelled(make_api) -> None:
    api = make_api()
    rid = add_resident(api, "Ann Lee")["id"]
    ui = api.browser("admin", ADMIN_PASSWORD)
    pages = ["/", "/events", "/residents", f"/residents/{rid}", "/entrances", "/rules", "/users"]
    stranger = api.client.__class__(api.client.app)
    for path, client in [("/login", stranger)] + [(p, ui) for p in pages]:
        html = client.get(path).text
        parser = _Fields()
        parser.feed(html)
        assert parser.fields or path == "/", path
        assert parser.unlabelled() == [], path
