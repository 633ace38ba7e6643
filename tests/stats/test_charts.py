"""The SVG charts: accessible images, hostile names escaped, well-formed XML, same bytes for
the same figures."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from hotline.web import charts

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = [
    "<script>alert(1)</script>.example",
    '"><svg onload="alert(1)">',
    "a & b\x01\x1f hosting",
    "=cmd|' /C calc'!A0",
]


def hosts_chart(labels: list[str]) -> str:
    return charts.bar_chart(
        chart_id="chart-host",
        title="Hours to removal by host",
        desc="Median and 90th percentile hours.",
        labels=labels,
        series=[
            charts.Series("Median", [float(i + 1) for i in range(len(labels))]),
            charts.Series(
                "90th percentile", [None] + [float(i + 5) for i in range(1, len(labels))]
            ),
        ],
        unit="h",
        axis_label="Hours from first report to removal",
        empty_text="Nothing was removed in this period.",
    )


def test_hostile_host_names_are_escaped_and_the_svg_stays_well_formed() -> None:
    svg = hosts_chart(HOSTILE)
    assert "<script" not in svg
    assert "<svg onload" not in svg and 'onload="' not in svg
    assert "&lt;script&gt;" in svg
    root = ET.fromstring(svg)  # raises if anything broke the XML
    # The full name is in each row's <title>, control characters dropped, text intact.
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert titles[0] == "Hours to removal by host"
    assert titles[1:] == [
        "<script>alert(1)</script>.example",
        '"><svg onload="alert(1)">',
        "a & b hosting",
        "=cmd|' /C calc'!A0",
    ]
    # No element other than the chart's own came out of the data.
    tags = {element.tag.removeprefix(SVG) for element in root.iter()}
    assert tags <= {"svg", "title", "desc", "rect", "text", "line", "g"}


def test_hostile_text_in_titles_and_labels_is_escaped_too() -> None:
    svg = charts.bar_chart(
        chart_id="chart-x",
        title='Hours "by" <host>',
        desc="<b>bold</b>",
        labels=["a"],
        series=[charts.Series("<i>Median</i>", [1.0])],
        unit="<u>",
        axis_label="&",
        empty_text="none",
    )
    root = ET.fromstring(svg)
    assert root.get("aria-label") == 'Hours "by" <host>'
    assert "<b>" not in svg and "<i>" not in svg and "<u>" not in svg
    assert root.find(f"{SVG}desc").text == "<b>bold</b>"  # type: ignore[union-attr]


def test_accessible_image() -> None:
    root = ET.fromstring(hosts_chart(["one.example", "two.example"]))
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Hours to removal by host"
    assert root.get("aria-describedby") == "chart-host-desc"
    desc = root.find(f"{SVG}desc")
    assert desc is not None and desc.get("id") == "chart-host-desc"
    assert desc.text == "Median and 90th percentile hours."
    assert root.find(f"{SVG}title") is not None
    sizes = [int(t.get("font-size") or root.get("font-size") or 0) for t in root.iter(f"{SVG}text")]
    assert min(sizes) >= 12
    assert "style" not in {
        a for element in root.iter() for a in element.attrib
    }  # CSP: no inline styles


def test_values_and_missing_values_are_labelled() -> None:
    root = ET.fromstring(hosts_chart(["one.example", "two.example"]))
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "1.0 h" in texts and "2.0 h" in texts and "6.0 h" in texts
    assert "–" in texts  # the first host's missing p90
    assert "one.example" in texts


def test_long_names_are_cut_on_the_chart_but_whole_in_the_title() -> None:
    name = "a-very-long-hosting-provider-name-indeed.example"
    root = ET.fromstring(hosts_chart([name]))
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    assert any(t.endswith("…") and name.startswith(t[:-1]) for t in texts)
    assert name in [t.text for t in root.iter(f"{SVG}title")]


def test_deterministic() -> None:
    assert hosts_chart(HOSTILE) == hosts_chart(HOSTILE)
    text = charts.MonthlyText("T", "D", "hours", "share", "none")
    make = lambda: charts.monthly_chart(  # noqa: E731
        chart_id="chart-month",
        text=text,
        months=["2024-01", "2024-02", "2024-03"],
        median_hours=[12.0, None, 30.0],
        share=[0.5, None, 1.0],
    )
    assert make() == make()


def test_monthly_chart() -> None:
    text = charts.MonthlyText(
        "Time to removal by month", "Bars and a line.", "Median hours", "Within 24 h", "none"
    )
    svg = charts.monthly_chart(
        chart_id="chart-month",
        text=text,
        months=["2024-01", "2024-02", "2024-03", "2024-04"],
        median_hours=[12.0, None, 30.0, 8.0],
        share=[0.5, 0.25, None, 1.0],
    )
    root = ET.fromstring(svg)
    assert root.get("role") == "img" and root.get("aria-label") == "Time to removal by month"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert {"2024-01", "2024-04", "100%", "0%"} <= set(texts)
    assert len([r for r in root.iter(f"{SVG}rect")]) == 1 + 3  # background + three months
    assert len(list(root.iter(f"{SVG}circle"))) == 3
    # The month without a share breaks the line: one segment of two points, one lone point.
    lines = list(root.iter(f"{SVG}polyline"))
    assert len(lines) == 1 and len((lines[0].get("points") or "").split()) == 2


def test_many_months_get_at_most_a_dozen_labels() -> None:
    months = [f"{2020 + i // 12}-{i % 12 + 1:02d}" for i in range(60)]
    svg = charts.monthly_chart(
        chart_id="chart-month",
        text=charts.MonthlyText("T", "D", "hours", "share", "none"),
        months=months,
        median_hours=[float(i) for i in range(60)],
        share=[0.5] * 60,
    )
    labels = [t.text for t in ET.fromstring(svg).iter(f"{SVG}text") if t.text in months]
    assert 0 < len(labels) <= 2 * 12  # a dozen under each panel


def test_empty_charts_say_so() -> None:
    svg = hosts_chart([])
    root = ET.fromstring(svg)
    assert root.get("role") == "img"
    assert "Nothing was removed in this period." in [t.text for t in root.iter(f"{SVG}text")]
    empty_month = charts.monthly_chart(
        chart_id="chart-month",
        text=charts.MonthlyText("T", "D", "hours", "share", "nothing yet"),
        months=["2024-01"],
        median_hours=[None],
        share=[None],
    )
    assert "nothing yet" in empty_month


def test_chart_id_must_be_plain() -> None:
    with pytest.raises(ValueError):
        charts.bar_chart(
            chart_id='x" onload="y',
            title="t",
            desc="d",
            labels=["a"],
            series=[charts.Series("m", [1.0])],
            unit="h",
            axis_label="a",
            empty_text="e",
        )


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.0, 1.0), (0.3, 0.5), (1.0, 1.0), (7.0, 10.0), (36.0, 50.0), (120, 200)],
)
def test_nice_max(value: float, expected: float) -> None:
    assert charts.nice_max(value) == pytest.approx(expected)
