"""The staff case-set pages (taskforce graders): every case set with its import progress, and
one set's progress and its graders' throughput and consistency, with charts drawn on the
server (`web.charts`: SVG, no JavaScript)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from hotline.security.permissions import Action, Actor
from hotline.taskforce import actions
from hotline.web import charts
from hotline.web.deps import get_db, require
from hotline.web.i18n import gettext_ as _
from hotline.web.templating import render

router = APIRouter(prefix="/staff", include_in_schema=False)
CHART_ROWS = 12  # graders in the chart, busiest first; the table has every one


@router.get("/taskforce", response_class=HTMLResponse)
def case_sets(
    request: Request, actor: Actor = Depends(require(Action.taskforce_grade))
) -> Response:
    with get_db(request).write() as session:  # the view is audited, in its own transaction
        sets = actions.list_case_sets(session, actor)
    return render(request, "taskforce/case_sets.html", {"case_sets": sets})


def _progress_chart(figures: actions.CaseSetFigures) -> Markup:
    labels = {
        "files": _("Files"),
        "hashed": _("Hashed"),
        "failed": _("Failed"),
        "duplicates": _("Duplicates"),
        "known": _("Known"),
        "clusters": _("Clusters"),
        "graded": _("Graded"),
        "verified": _("Verified"),
    }
    bars = figures.progress.bars()
    title = _("Case set progress")
    return Markup(  # noqa: S704 - charts.esc escapes every text and attribute value
        charts.bar_chart(
            chart_id="chart-progress",
            title=title,
            desc=_("Files read, then items at each step of the set; the table gives each figure."),
            labels=[labels[key] for key, _value in bars],
            series=[charts.Series(_("Count"), [float(value) for _key, value in bars])],
            unit="",
            axis_label=_("Files or items"),
            empty_text=_("Nothing imported yet."),
            digits=0,
        )
    )


def _graders_chart(figures: actions.CaseSetFigures) -> Markup:
    shown = figures.graders[:CHART_ROWS]
    title = _("Items and clusters graded per hour, by grader")
    return Markup(  # noqa: S704 - charts.esc escapes every text and attribute value
        charts.bar_chart(
            chart_id="chart-graders",
            title=title,
            desc=_(
                "Items and clusters each grader graded per hour of decision time, for the "
                "%(count)s busiest graders; the table gives every figure."
            )
            % {"count": len(shown)},
            labels=[g.username for g in shown],
            series=[
                charts.Series(_("Items per hour"), [g.items_per_hour for g in shown]),
                charts.Series(_("Clusters per hour"), [g.clusters_per_hour for g in shown]),
            ],
            unit="/h",
            axis_label=_("Per hour of decision time"),
            empty_text=_("No grading decisions yet."),
        )
    )


@router.get("/taskforce/{case_set_id:int}", response_class=HTMLResponse)
def case_set(
    request: Request,
    case_set_id: int,
    actor: Actor = Depends(require(Action.taskforce_grade)),
) -> Response:
    with get_db(request).write() as session:  # the view is audited, in its own transaction
        figures = actions.view_case_set(session, actor, case_set_id)
    return render(
        request,
        "taskforce/case_set.html",
        {
            "figures": figures,
            "c": figures.case_set,
            "progress": figures.progress,
            "graders": figures.graders,
            "charts": [
                (_("Case set progress"), _progress_chart(figures)),
                (_("Items and clusters graded per hour, by grader"), _graders_chart(figures)),
            ],
        },
    )
