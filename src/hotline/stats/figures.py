"""Every published figure, computed from stored facts: the one aggregation of docs/statistics.md.
Pure: the facts come in as plain records (`stats.aggregate` loads them), figures go out as
(year, figure, key) -> value, before suppression (`stats.suppression`, applied by the cache).

Counting rules (the methodology states them too):
- a report counts in the year it was received, by its origin;
- a URL is assessed in the year of its verdict, actioned when that verdict is "criminal";
- per actioned URL, over the images on it with a final grade of category A, B or C: the most
  severe category (A before B before C), the youngest age band, the sex of the children shown
  (girls and boys together make "both"), and self-generated when any such image is; a URL
  with no such image is "not_graded";
- hosting (country from its takedown case, site type, free or paid, TLD) counts actioned URLs;
  unique domains count each domain once per country and year;
- notice and takedown counts the takedown cases first reported in the year: hours from first
  report to removal (median; p90 nearest-rank; fastest), the share of all the year's cases
  removed within 1, 3 and 7 days, and re-appearances: removed URLs reported again after the
  removal was recorded;
- the hash list counts our own lists' entries live at the end of the year, by category.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from hotline.stats.removal import median, nearest_rank
from hotline.stats.suppression import TOTAL

ORIGINS = ("public", "proactive", "partner_hotline", "member", "child_self_report")
CATEGORIES = ("A", "B", "C")
AGE_BANDS = ("0-2", "3-6", "7-10", "11-13", "14-15", "16-17")
SEXES = ("girls", "boys", "both", "unidentified")
NOT_GRADED = "not_graded"
NOT_RECORDED = "not_recorded"
UNKNOWN = "unknown"
DAYS = (1, 3, 7)


@dataclass(frozen=True)
class Figure:
    """One published figure: its stable name, what kind of cells it has, and its meaning."""

    name: str
    kind: str  # "breakdown" (counts, with a total), "counts" (counts), "measures" (hours, shares)
    description: str


FIGURES: tuple[Figure, ...] = (
    Figure("funnel", "counts", "Reports received, URLs assessed, URLs actioned."),
    Figure("reports_by_origin", "breakdown", "Reports received, by who found the URL."),
    Figure("actioned_by_category", "breakdown", "Actioned URLs by most severe UK category."),
    Figure("actioned_by_age", "breakdown", "Actioned URLs by youngest apparent age band."),
    Figure("actioned_by_sex", "breakdown", "Actioned URLs by sex of the children shown."),
    Figure("actioned_self_generated", "breakdown", "Actioned URLs showing self-generated images."),
    Figure("hosting_country_urls", "breakdown", "Actioned URLs by hosting country."),
    Figure("hosting_country_domains", "breakdown", "Unique domains of actioned URLs by country."),
    Figure("actioned_by_site_type", "breakdown", "Actioned URLs by site type."),
    Figure("actioned_by_hosting", "breakdown", "Actioned URLs on free or paid hosting."),
    Figure("actioned_by_tld", "breakdown", "Actioned URLs by top-level domain."),
    Figure("takedown", "measures", "Notice and takedown: cases, removals, times, shares."),
    Figure("hash_list_by_category", "breakdown", "Hashes on our lists at year end, by category."),
)
BY_NAME = {f.name: f for f in FIGURES}


@dataclass(frozen=True, slots=True)
class ActionedUrl:
    url_id: int
    year: int
    domain: str
    tld: str | None
    site_type: str | None
    hosting: str | None
    country: str | None


@dataclass(frozen=True, slots=True)
class GradedImage:
    url_id: int
    category: str
    age_band: str | None
    sex: str | None
    self_generated: bool


@dataclass(frozen=True, slots=True)
class Case:
    year: int  # of first report
    first_reported_at: datetime
    removed_at: datetime | None
    reappeared: bool


@dataclass
class Facts:
    """What the figures are computed from (stats.aggregate loads it)."""

    reports: dict[int, Counter[str]]  # year -> origin -> reports
    assessed: dict[int, int]  # year -> URLs with a verdict
    actioned: list[ActionedUrl]
    images: list[GradedImage]
    cases: list[Case]
    hashes: dict[int, Counter[str]]  # year -> category -> live entries at year end


Table = dict[tuple[int, str, str], float | None]  # (year, figure, key) -> value


def _url_grade(images: list[GradedImage]) -> tuple[str, str, str, str]:
    """(category, age band, sex, self-generated) of one URL by the counting rules."""
    if not images:
        return NOT_GRADED, NOT_GRADED, NOT_GRADED, NOT_GRADED
    category = min((i.category for i in images), key=CATEGORIES.index)
    bands = [i.age_band for i in images if i.age_band in AGE_BANDS]
    age = min(bands, key=AGE_BANDS.index) if bands else NOT_RECORDED
    sexes = {i.sex for i in images if i.sex}
    if "both" in sexes or {"girls", "boys"} <= sexes:
        sex = "both"
    elif "girls" in sexes:
        sex = "girls"
    elif "boys" in sexes:
        sex = "boys"
    else:
        sex = "unidentified"
    self_made = "self_generated" if any(i.self_generated for i in images) else "not_self_generated"
    return category, age, sex, self_made


def _breakdown(
    table: Table, year: int, figure: str, counts: Counter[str], fixed: Iterable[str] = ()
) -> None:
    for key in fixed:  # the fixed cells in their own order, then the rest, largest first
        table[(year, figure, key)] = float(counts.get(key, 0))
    for key, value in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        table[(year, figure, key)] = float(value)
    table[(year, figure, TOTAL)] = float(sum(counts.values()))


def _takedown(table: Table, year: int, cases: list[Case]) -> None:
    hours = [
        (c.removed_at - c.first_reported_at) / timedelta(hours=1)
        for c in cases
        if c.removed_at is not None
    ]
    hours = [max(h, 0.0) for h in hours]
    put = table.__setitem__
    put((year, "takedown", "cases"), float(len(cases)))
    put((year, "takedown", "removed"), float(len(hours)))
    put((year, "takedown", "median_hours"), median(hours))
    put((year, "takedown", "p90_hours"), nearest_rank(hours, 90))
    put((year, "takedown", "fastest_hours"), min(hours) if hours else None)
    for days in DAYS:
        share = sum(1 for h in hours if h <= days * 24) / len(cases) if cases else None
        put((year, "takedown", f"within_{days}d_share"), share)
    put((year, "takedown", "reappearances"), float(sum(1 for c in cases if c.reappeared)))


def compute(facts: Facts) -> Table:
    """Every figure of every year that has any report, actioned URL, case or hash."""
    table: Table = {}
    by_url: dict[int, list[GradedImage]] = defaultdict(list)
    for image in facts.images:
        if image.category in CATEGORIES:
            by_url[image.url_id].append(image)
    actioned: dict[int, list[ActionedUrl]] = defaultdict(list)
    for url in facts.actioned:
        actioned[url.year].append(url)
    cases: dict[int, list[Case]] = defaultdict(list)
    for case in facts.cases:
        cases[case.year].append(case)
    years = set(facts.reports) | set(actioned) | set(cases) | set(facts.assessed)
    for year in sorted(years):
        reports = facts.reports.get(year, Counter())
        urls = actioned.get(year, [])
        table[(year, "funnel", "reports_received")] = float(sum(reports.values()))
        table[(year, "funnel", "urls_assessed")] = float(facts.assessed.get(year, 0))
        table[(year, "funnel", "urls_actioned")] = float(len(urls))
        _breakdown(table, year, "reports_by_origin", reports, ORIGINS)
        grades = [_url_grade(by_url.get(u.url_id, [])) for u in urls]
        _breakdown(table, year, "actioned_by_category", Counter(g[0] for g in grades),
                   (*CATEGORIES, NOT_GRADED))  # fmt: skip
        _breakdown(table, year, "actioned_by_age", Counter(g[1] for g in grades),
                   (*AGE_BANDS, NOT_GRADED))  # fmt: skip
        _breakdown(table, year, "actioned_by_sex", Counter(g[2] for g in grades),
                   (*SEXES, NOT_GRADED))  # fmt: skip
        _breakdown(table, year, "actioned_self_generated", Counter(g[3] for g in grades),
                   ("self_generated", "not_self_generated", NOT_GRADED))  # fmt: skip
        _breakdown(table, year, "hosting_country_urls", Counter(u.country or UNKNOWN for u in urls))
        domains = {(u.country or UNKNOWN, u.domain) for u in urls}
        _breakdown(table, year, "hosting_country_domains", Counter(c for c, _d in domains))
        table[(year, "hosting_country_domains", TOTAL)] = float(len({u.domain for u in urls}))
        _breakdown(table, year, "actioned_by_site_type",
                   Counter(u.site_type or NOT_RECORDED for u in urls))  # fmt: skip
        hosting = Counter(u.hosting or UNKNOWN for u in urls)
        _breakdown(table, year, "actioned_by_hosting", hosting, ("free", "paid", UNKNOWN))
        _breakdown(table, year, "actioned_by_tld", Counter(u.tld or "(address)" for u in urls))
        _takedown(table, year, cases.get(year, []))
        hashes = facts.hashes.get(year, Counter())
        _breakdown(table, year, "hash_list_by_category", hashes, CATEGORIES)
    return table
