"""The annual report: the year's published figures, charts and methodology as one printable,
self-contained HTML file (no scripts, no outside files), or as PDF (stats.report_pdf), from the
cache like the page."""

from __future__ import annotations

from sqlalchemy.orm import Session

from hotline.assess import site_types
from hotline.errors import N_, FieldError, InvalidInput
from hotline.stats import labels, published, report_pdf, sections
from hotline.web import i18n
from hotline.web.templating import templates

FORMATS = ("html", "pdf")


def parse_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise InvalidInput(
            N_("unknown format"),
            fields=[FieldError("format", N_("use one of: %(items)s", items=", ".join(FORMATS)))],
        )
    return fmt


def parse_locale(locale: str) -> str:
    if locale not in i18n.SUPPORTED_LOCALES:
        names = ", ".join(i18n.SUPPORTED_LOCALES)
        raise InvalidInput(
            N_("unknown language"),
            fields=[FieldError("lang", N_("use one of: %(names)s", names=names))],
        )
    return locale


def render_html(session: Session, year: int, locale: str) -> str:
    """The report of `year` in `locale`; NotFound when no figures are published for it."""
    page = published.year_page(session, year)
    i18n.set_locale(locale)
    kinds = site_types.labels(session, locale)
    return templates.env.get_template("stats/report.html").render(
        locale=locale,
        page=page,
        sections=sections.build(page, kinds),
        methodology=labels.methodology(page.state.threshold),
        printable=True,
    )


def render_pdf(session: Session, year: int, locale: str) -> bytes:
    """The same report as PDF (stats.report_pdf)."""
    page = published.year_page(session, year)
    i18n.set_locale(locale)
    return report_pdf.render(page, sections.build(page, site_types.labels(session, locale)))
