"""The annual report as PDF, through fpdf2 (the `report` extra: pure Python, no system
libraries). The same sections as the HTML report: per figure a table of the year and the year
before and, for breakdowns, bars drawn as plain rectangles with the values written beside
them; then the methodology. The built-in PDF fonts cover Latin-1, which English and French
need; other characters are replaced."""

from __future__ import annotations

from typing import Any

from hotline.errors import N_, AppError
from hotline.stats import labels, published
from hotline.web.i18n import gettext_ as _

COLOURS = ((11, 92, 173), (163, 79, 0))  # the SVG charts' two colours
_PLAIN = {"\u2014": "-", "\u2013": "-", "\u202f": " ", "\u00a0": " ", "\u2019": "'"}


class PdfUnavailable(AppError):
    code = "pdf_unavailable"
    status = 501


def _text(value: object) -> str:
    text = "".join(_PLAIN.get(c, c) for c in str(value))
    return text.encode("latin-1", "replace").decode("latin-1")


def _bars(pdf: Any, rows: list[dict[str, Any]], year: int) -> None:
    shown = [r for r in rows if r["key"] != "total"]
    top = max([v for r in shown for v in (r["now"], r["before"]) if v] or [0])
    if not top:
        return
    pdf.set_font("helvetica", size=8)
    for r in shown:
        pdf.cell(55, 4, _text(r["label"])[:34])
        x, y = pdf.get_x(), pdf.get_y()
        for i, key in enumerate(("now", "before")):
            value = r[key] or 0
            pdf.set_fill_color(*COLOURS[i])
            if value:
                pdf.rect(x, y + i * 2, 100 * value / top, 1.8, style="F")
        pdf.set_x(x + 102)
        pdf.cell(0, 4, _text(f"{year}: {r['now_text']}   {year - 1}: {r['before_text']}"),
                 new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.ln(2)


def render(page: published.YearPage, sections: list[dict[str, Any]]) -> bytes:
    """The report of `page` as PDF bytes; PdfUnavailable when fpdf2 is not installed."""
    try:
        from fpdf import FPDF
    except ImportError:
        raise PdfUnavailable(
            N_(
                "PDF needs the report extra: pip install 'hotline-server[report]'; "
                "or use --format html"
            )
        ) from None
    pdf = FPDF()
    pdf.set_compression(False)  # text stays readable in the file; tests extract it
    pdf.set_title(_text(_("Annual report %(year)s") % {"year": page.year}))
    pdf.add_page()
    pdf.set_font("helvetica", style="B", size=18)
    pdf.cell(0, 10, _text(_("Annual report %(year)s") % {"year": page.year}),
             new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.set_font("helvetica", size=10)
    intro = _(
        "Each figure for %(year)s, with %(previous)s beside it. Counts below %(n)s are shown as "
        '"fewer than %(n)s", so that no report, child or host can be singled out.'
    ) % {"year": page.year, "previous": page.previous, "n": page.state.threshold}
    pdf.multi_cell(0, 5, _text(intro), new_x="LMARGIN", new_y="NEXT")
    for section in sections:
        pdf.ln(3)
        pdf.set_font("helvetica", style="B", size=12)
        pdf.multi_cell(0, 6, _text(section["title"]), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", size=9)
        with pdf.table(col_widths=(110, 40, 40), text_align=("LEFT", "RIGHT", "RIGHT")) as table:
            table.row([_text(_("Figure")), str(page.year), str(page.previous)])
            for r in section["rows"]:
                table.row([_text(r["label"]), _text(r["now_text"]), _text(r["before_text"])])
        if section["chart"] is not None:
            pdf.ln(1)
            _bars(pdf, section["rows"], page.year)
    pdf.ln(3)
    pdf.set_font("helvetica", style="B", size=12)
    pdf.cell(0, 6, _text(_("Methodology and definitions")), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=9)
    for item in labels.methodology(page.state.threshold):
        pdf.multi_cell(0, 4.5, _text(f"- {item}"), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
