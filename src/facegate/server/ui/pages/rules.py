"""The Rules & passes page: every rule, and a form with pickers to add one or change one
(`?edit=<id>`). A plain HTML post (works without JS; JS only filters the resident list),
checked for the same role and stored by the same operations as `POST`/`PUT /api/v1/rules`;
a refused form comes back with what was ticked and why."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from facegate.errors import FaceGateError
from facegate.server.auth import Principal, Role
from facegate.server.deps import DB
from facegate.server.errors import NotFound
from facegate.server.operations import entrances, residents, rules
from facegate.server.operations.event_text import N_
from facegate.server.ui.common import login_redirect, page, site_zone, who_of
from facegate.server.ui.forms import FormError
from facegate.server.ui.rule_form import DAY_WORDS, RuleForm

router = APIRouter(include_in_schema=False)


def _rules_page(
    request: Request,
    session: DB,
    who: Principal,
    *,
    edit: int | None = None,
    form: RuleForm | None = None,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    session.rollback()  # a refused change leaves nothing behind
    all_rules = rules.list_rules(session)
    editing = next((r for r in all_rules if r.id == edit), None) if edit else None
    if form is None:
        form = RuleForm.of(editing, site_zone(request)) if editing else RuleForm()
    return page(
        request,
        "rules.html",
        who,
        status_code,
        rules=all_rules,
        residents=residents.resident_names(session),
        entrances=entrances.entrance_names(session),
        editing=editing,
        form=form,
        errors=errors or [],
        day_words=DAY_WORDS,
    )


@router.get("/rules", response_class=HTMLResponse)
def rules_page(request: Request, session: DB, edit: int | None = None) -> Response:
    who = who_of(request, session)
    if who is None:
        return login_redirect()
    return _rules_page(request, session, who, edit=edit)


def _save(request: Request, session: DB, form: RuleForm, rule_id: int | None) -> Response:
    who = who_of(request, session)
    if who is None:
        return login_redirect()
    if not who.allows(Role.OPERATOR):
        return page(
            request,
            "message.html",
            who,
            403,
            title=N_("Operators only"),
            message=N_("Only an operator or an admin can add or change rules."),
        )
    try:
        keep = rules.get_rule(session, rule_id).windows[1:] if rule_id else []
        body = form.body(site_zone(request), keep)
        if rule_id is None:
            saved = rules.create_rule(session, who, body)
        else:
            saved = rules.replace_rule(session, who, rule_id, body)
    except NotFound:
        return page(
            request,
            "message.html",
            who,
            404,
            title=N_("Not found"),
            message=N_("No rule with id {id}."),
            args={"id": rule_id},
        )
    except (FormError, FaceGateError) as exc:
        why = exc.messages if isinstance(exc, FormError) else [str(exc)]
        return _rules_page(
            request, session, who, edit=rule_id, form=form, errors=why, status_code=400
        )
    return RedirectResponse(f"/rules#rule-{saved.id}", status_code=303)


@router.post("/rules", response_class=HTMLResponse)
def add_rule(request: Request, session: DB, form: Annotated[RuleForm, Form()]) -> Response:
    """The add form: `operations.rules.create_rule`, as `POST /api/v1/rules`."""
    return _save(request, session, form, None)


@router.post("/rules/{rule_id}", response_class=HTMLResponse)
def edit_rule(
    request: Request, rule_id: int, session: DB, form: Annotated[RuleForm, Form()]
) -> Response:
    """A rule's form: `operations.rules.replace_rule`, as `PUT /api/v1/rules/{id}`."""
    return _save(request, session, form, rule_id)
