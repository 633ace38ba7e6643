"""Time-to-removal pages: the figures with charts, and two CSV exports. Every view and export
is audited (stats.view, stats.export) by its action in `stats.actions`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from hotline.security.permissions import Action, Actor
from hotline.stats import actions, dashboard
from hotline.stats.removal import GroupBy, GroupFigures, Summary
from hotline.stats.store import DateRange
from hotline.web import charts
from hotline.web.deps import get_db, get_settings, require
from hotline.web.i18n import gettext_ as _
from hotline.web.templating import render

router = APIRouter(prefix="/staff/stats", include_in_schema=False)
TABLE_ROWS = 50  # per group table on the page; the groups CSV has every group
CHART_ROWS = 12  # bars per chart, largest groups first


def _label(group: GroupFigures) -> str:
    return group.key if group.key is not None else _("Unknown")


def _bar_chart(chart_id: str, title: str, groups: list[GroupFigures]) -> Markup:
    shown = sorted(groups, key=lambda g: (-g.count, g.key is None, g.key or ""))[:CHART_ROWS]
    return Markup(  # noqa: S704 - charts.esc escapes every text and attribute value
        charts.bar_chart(
            chart_id=chart_id,
            title=title,
            desc=_(
                "Median and 90th percentile hours from first report to removal for the "
                "%(count)s largest groups; the table below gives every figure."
            )
            % {"count": len(shown)},
            labels=[_label(g) for g in shown],
            series=[
                charts.Series(_("Median"), [g.median_report_h for g in shown]),
                charts.Series(_("90th percentile"), [g.p90_report_h for g in shown]),
            ],
            unit="h",
            axis_label=_("Hours from first report to removal"),
            empty_text=_("Nothing was removed in this period."),
        )
    )


def _monthly_title() -> str:
    return _("Time to removal and share removed within 24 hours, by month of first report")


def _monthly_chart(months: list[GroupFigures]) -> Markup:
    text = charts.MonthlyText(
        title=_monthly_title(),
        desc=_(
            "Bars: median hours from first report to removal. Line: share of notified "
            "addresses removed within 24 hours of the first notice. The table by month "
            "gives every figure."
        ),
        hours_label=_("Median hours from first report to removal"),
        share_label=_("Removed within 24 hours of first notice"),
        empty_text=_("Nothing was removed in this period."),
    )
    return Markup(  # noqa: S704 - charts.esc escapes every text and attribute value
        charts.monthly_chart(
            chart_id="chart-month",
            text=text,
            months=[g.key or "" for g in months],
            median_hours=[g.median_report_h for g in months],
            share=[g.share_24h for g in months],
        )
    )


def _charts(summary: Summary) -> list[tuple[str, Markup]]:
    """(visible caption, chart) pairs; the caption repeats the chart's accessible name."""
    host, country = _("Hours to removal by host"), _("Hours to removal by country")
    return [
        (_monthly_title(), _monthly_chart(summary.groups[GroupBy.month])),
        (host, _bar_chart("chart-host", host, summary.groups[GroupBy.host])),
        (country, _bar_chart("chart-country", country, summary.groups[GroupBy.country])),
    ]


@router.get("/removal", response_class=HTMLResponse)
def removal_page(
    request: Request,
    start: str | None = Query(None, alias="from"),
    end: str | None = Query(None, alias="to"),
    actor: Actor = Depends(require(Action.stats_view)),
) -> HTMLResponse:
    figures = actions.view_removal(get_db(request), actor, start, end)
    dates, summary = figures.dates, figures.summary
    query = f"from={dates.start.isoformat()}&to={dates.end.isoformat()}"
    return render(
        request,
        "stats/removal.html",
        {
            "dates": dates,
            "query": query,
            "summary": summary,
            "overall": summary.overall,
            "tables": [
                (_("By host"), _("Host"), summary.groups[GroupBy.host]),
                (_("By country"), _("Country"), summary.groups[GroupBy.country]),
                (_("By category"), _("Category"), summary.groups[GroupBy.category]),
                (_("By month of first report"), _("Month"), summary.groups[GroupBy.month]),
            ],
            "table_rows": TABLE_ROWS,
            "charts": _charts(summary),
            "label": _label,
        },
    )


def _csv(content: str, name: str, dates: DateRange) -> Response:
    filename = f"{name}_{dates.start.isoformat()}_{dates.end.isoformat()}.csv"
    return Response(
        content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/removal.csv")
def removal_csv(
    request: Request,
    start: str | None = Query(None, alias="from"),
    end: str | None = Query(None, alias="to"),
    actor: Actor = Depends(require(Action.stats_view)),
) -> Response:
    """One row per URL with its clocks."""
    exported = actions.export_clocks(get_db(request), actor, start, end)
    return _csv(exported.content, "time-to-removal", exported.dates)


@router.get("/removal-groups.csv")
def removal_groups_csv(
    request: Request,
    start: str | None = Query(None, alias="from"),
    end: str | None = Query(None, alias="to"),
    by: str | None = Query(None),
    actor: Actor = Depends(require(Action.stats_view)),
) -> Response:
    """The group figures: every grouping, or the one `by` names."""
    exported = actions.export_groups(get_db(request), actor, start, end, by)
    return _csv(exported.content, "time-to-removal-groups", exported.dates)


def _flow_chart(found: dashboard.Dashboard) -> Markup:
    rows = found.flow[-CHART_ROWS * 3 :]
    return Markup(  # noqa: S704 - charts.esc escapes every text and attribute value
        charts.bar_chart(
            chart_id="chart-flow",
            title=_("Reports in and addresses assessed"),
            desc=_("Per day or month in the range; the table below gives every figure."),
            labels=[p for p, _n, _a in rows],
            series=[
                charts.Series(_("Reports in"), [float(n) for _p, n, _a in rows]),
                charts.Series(_("Addresses assessed"), [float(a) for _p, _n, a in rows]),
            ],
            unit="",
            axis_label=_("Count"),
            empty_text=_("Nothing in this period."),
            digits=0,
        )
    )


def _age_chart(chart_id: str, title: str, ages: dict[str, int]) -> Markup:
    return Markup(  # noqa: S704 - charts.esc escapes every text and attribute value
        charts.bar_chart(
            chart_id=chart_id,
            title=title,
            desc=_("How many by age since first report; the table gives every figure."),
            labels=[age_labels()[k] for k in ages],
            series=[charts.Series(title, [float(v) for v in ages.values()])],
            unit="",
            axis_label=_("Count"),
            empty_text=_("Nothing open."),
            digits=0,
        )
    )


def age_labels() -> dict[str, str]:
    return {
        "under_1d": _("Under 1 day"),
        "1_to_3d": _("1 to 3 days"),
        "3_to_7d": _("3 to 7 days"),
        "7_to_30d": _("7 to 30 days"),
        "over_30d": _("Over 30 days"),
    }


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(
    request: Request,
    start: str | None = Query(None, alias="from", max_length=20),
    end: str | None = Query(None, alias="to", max_length=20),
    actor: Actor = Depends(require(Action.stats_view)),
) -> HTMLResponse:
    cap = get_settings(request).daily_view_cap_minutes
    found = actions.view_dashboard(get_db(request), actor, start, end, cap)
    return render(
        request,
        "stats/dashboard.html",
        {
            "d": found,
            "ages": age_labels(),
            "flow_chart": _flow_chart(found),
            "backlog_chart": _age_chart("chart-backlog", _("Queue backlog by age"), found.backlog),
            "cases_chart": _age_chart(
                "chart-cases", _("Open takedown cases by age"), found.cases_open
            ),
        },
    )
