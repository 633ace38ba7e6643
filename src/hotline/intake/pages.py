"""Public pages: home, the report form (works without JavaScript) and the status check."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from hotline.errors import N_, AppError, InvalidInput
from hotline.intake import reports
from hotline.intake.receive import receive
from hotline.web.csrf import PostedForm
from hotline.web.deps import get_db, get_settings
from hotline.web.i18n import gettext_
from hotline.web.templating import render

router = APIRouter(include_in_schema=False)

FORM_FIELDS = ("url", "description", "email", "content_type", "country")


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    return render(request, "home.html")


@router.get("/report", response_class=HTMLResponse)
def report_form(request: Request) -> HTMLResponse:
    return render(request, "intake/report.html", {"values": {}, "errors": {}})


@router.post("/report", response_class=HTMLResponse)
def report_submit(request: Request, form: FormData = PostedForm) -> HTMLResponse:
    values = {name: str(form.get(name, "") or "") for name in FORM_FIELDS}
    try:
        report = reports.validate(dict(values))
    except InvalidInput as exc:
        errors = {f.field: gettext_(f.message) for f in exc.fields}
        return render(
            request, "intake/report.html", {"values": values, "errors": errors}, status_code=422
        )
    submitted = receive(
        request,
        report,
        reports.Source.web,
        N_("You have sent many reports in a short time. Please wait a few minutes and try again."),
    )
    return render(request, "intake/thanks.html", {"submitted": submitted})


@router.get("/report/status", response_class=HTMLResponse)
def report_status(request: Request, reference: str = "") -> HTMLResponse:
    status, error, status_code = None, None, 200
    if reference:
        try:
            with get_db(request).read() as session:
                status = reports.public_status_detail(session, reference)
        except AppError as exc:
            error, status_code = gettext_(exc.message), exc.status
    return render(
        request,
        "intake/status.html",
        {"reference": reference, "status": status, "error": error},
        status_code=status_code,
    )


@router.get("/privacy", response_class=HTMLResponse)
def privacy(request: Request) -> HTMLResponse:
    """What is and is not kept about reporters and visitors, with the settings that govern it."""
    return render(request, "intake/privacy.html", {"settings": get_settings(request)})
