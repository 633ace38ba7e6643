"""One Jinja2 environment for every page, with autoescape and per-request translations."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import escape

from hotline.errors import AppError, Message, translate
from hotline.web import flash, i18n, staff_nav

TEMPLATE_DIR = Path(__file__).parent / "templates"

templates = Jinja2Templates(directory=str(TEMPLATE_DIR))
templates.env.add_extension("jinja2.ext.i18n")


def _template_gettext(message: str) -> str:
    """`_()` in templates: Jinja reads what gettext returns as a %-format, so a message whose
    values were already filled in (`N_(id, **values)`) has its "%" doubled for that reading.
    Jinja also marks what gettext returns as safe HTML, so such a message is escaped here:
    its values can be what someone typed (a name, a host, a query)."""
    text = i18n.gettext_(message)
    if isinstance(message, Message):
        return str(escape(text)).replace("%", "%%")
    return text


templates.env.install_gettext_callables(  # type: ignore[attr-defined]
    gettext=_template_gettext, ngettext=i18n.ngettext_, newstyle=True
)
templates.env.globals["supported_locales"] = i18n.SUPPORTED_LOCALES


def lang_href(request: Request, code: str) -> str:
    """The language switcher's link: this page's query with only the language changed, so a
    reporter's status page keeps its reference and a filtered list its filters."""
    kept = [(key, value) for key, value in request.query_params.multi_items() if key != "lang"]
    return "?" + urlencode([*kept, ("lang", code)])


templates.env.globals["lang_href"] = lang_href


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """Render a page; every template gets the request, locale, user and CSRF token, the staff
    navigation this actor may open, and a waiting confirmation (shown once)."""
    values: dict[str, Any] = {
        "locale": i18n.current_locale(),
        "user": getattr(request.state, "user", None),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "staff_nav": staff_nav.items_for(getattr(request.state, "actor", None)),
        "flash": flash.pending(request),
    }
    values.update(context or {})
    response = templates.TemplateResponse(request, name, values, status_code=status_code)
    flash.clear(request, response)
    return response


def render_form_error(
    request: Request,
    name: str,
    context: dict[str, Any],
    exc: AppError,
    form: str,
    values: dict[str, Any],
) -> HTMLResponse:
    """The page again with the refusal beside the form that caused it and what was typed kept
    (`errors[form]` lists the message, then each field's, in the page's language)."""
    said = [translate(exc.message, i18n.gettext_)]
    said += [i18n.field_error(f.field, translate(f.message, i18n.gettext_)) for f in exc.fields]
    context["errors"] = {form: said}
    context["values"] = values
    return render(request, name, context, status_code=exc.status)
