"""Words for the published figures' names, cells and values, in the page's language."""

from __future__ import annotations

from babel import Locale

from hotline.web.i18n import current_locale
from hotline.web.i18n import gettext_ as _


def titles() -> dict[str, str]:
    return {
        "funnel": _("Reports received, assessed and actioned"),
        "reports_by_origin": _("Reports received by source"),
        "actioned_by_category": _("Actioned addresses by most severe category"),
        "actioned_by_age": _("Actioned addresses by youngest apparent age"),
        "actioned_by_sex": _("Actioned addresses by sex of the children shown"),
        "actioned_self_generated": _("Actioned addresses showing self-generated images"),
        "hosting_country_urls": _("Actioned addresses by hosting country"),
        "hosting_country_domains": _("Unique domains by hosting country"),
        "actioned_by_site_type": _("Actioned addresses by site type"),
        "actioned_by_hosting": _("Actioned addresses on free or paid hosting"),
        "actioned_by_tld": _("Actioned addresses by top-level domain"),
        "takedown": _("Notice and takedown"),
        "hash_list_by_category": _("Hashes on our lists at the end of the year, by category"),
    }


def _cells() -> dict[str, str]:
    return {
        "total": _("Total"),
        "reports_received": _("Reports received"),
        "urls_assessed": _("Addresses assessed"),
        "urls_actioned": _("Addresses actioned"),
        "public": _("Members of the public"),
        "proactive": _("Our own proactive search"),
        "partner_hotline": _("Partner hotlines"),
        "member": _("Member platforms"),
        "child_self_report": _("Children reporting images of themselves"),
        "A": _("Category A"),
        "B": _("Category B"),
        "C": _("Category C"),
        "not_graded": _("No graded image"),
        "not_recorded": _("Not recorded"),
        "unknown": _("Not known"),
        "girls": _("Girls"),
        "boys": _("Boys"),
        "both": _("Girls and boys"),
        "unidentified": _("Not identified"),
        "self_generated": _("Self-generated"),
        "not_self_generated": _("Not self-generated"),
        "free": _("Free hosting"),
        "paid": _("Paid hosting"),
        "(address)": _("An IP address"),
        "cases": _("Takedown cases"),
        "removed": _("Removed"),
        "median_hours": _("Median hours from first report to removal"),
        "p90_hours": _("90th percentile hours from first report to removal"),
        "fastest_hours": _("Fastest removal, hours"),
        "within_1d_share": _("Removed within 1 day"),
        "within_3d_share": _("Removed within 3 days"),
        "within_7d_share": _("Removed within 7 days"),
        "reappearances": _("Re-appearances after removal"),
    }


def cell_label(figure: str, key: str, site_types: dict[str, str]) -> str:
    if figure == "actioned_by_site_type" and key in site_types:
        return site_types[key]
    if figure == "actioned_by_tld" and key != "total" and key != "(address)":
        return f".{key}"
    if figure.startswith("hosting_country") and len(key) == 2 and key.isupper():
        return str(Locale.parse(current_locale()).territories.get(key, key))
    if figure == "actioned_by_age" and key[:1].isdigit():
        return _("%(band)s years") % {"band": key}
    return _cells().get(key, key)


def value_text(figure: str, key: str, value: float | None, suppressed: bool, threshold: int
               ) -> str:  # fmt: skip
    if suppressed:
        return _("fewer than %(n)s") % {"n": threshold}
    if value is None:
        return "—"
    if key.endswith("_share"):
        return f"{value * 100:.0f}%"
    if key.endswith("_hours"):
        return f"{value:.1f}"
    return f"{int(value):,}".replace(",", "\u202f" if current_locale() == "fr" else ",")


def methodology(threshold: int) -> list[str]:
    """The counting rules, as the page, the report and docs/statistics.md state them."""
    return [
        _(
            "A report counts in the year it was received, by who found the address: members of "
            "the public, our own proactive search, partner hotlines, member platforms, or "
            "children reporting images of themselves."
        ),
        _(
            "An address counts as assessed in the year of its verdict, and as actioned when the "
            "verdict found criminal content present."
        ),
        _(
            "For each actioned address we count the most severe category (A, then B, then C) and "
            "the youngest apparent age band among its images graded A, B or C; girls and boys "
            "together count as both; an address is self-generated when any such image is. An "
            "address with no graded image counts as such."
        ),
        _(
            "Hosting country is the one recorded when the takedown case opened; site type and "
            "free or paid hosting are recorded with the verdict; the domain and top-level domain "
            "come from the address."
        ),
        _(
            "Notice and takedown counts the cases first reported in the year: hours from first "
            "report to removal (median, 90th percentile as an observed value, fastest), the share"
            " of the year's cases removed within 1, 3 and 7 days, and re-appearances: removed "
            "addresses reported again after the removal."
        ),
        _(
            "The hash list counts the entries of our own lists live at the end of the year, by "
            "category."
        ),
        _(
            'Small counts: a count from 1 to %(m)s is shown as "fewer than %(n)s". Where that '
            "would let the hidden count be worked out from the total, the next smallest count is "
            "hidden too, until the hidden counts together make at least %(n)s."
        )
        % {"m": threshold - 1, "n": threshold},
    ]
