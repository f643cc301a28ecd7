"""The SVG charts: well-formed, proportional, escaped, gaps for missing data."""

import xml.etree.ElementTree as ET

import pytest

from console import charts

NS = {"svg": "http://www.w3.org/2000/svg"}


def num(element: ET.Element, name: str) -> float:
    value = element.get(name)
    assert value is not None, name
    return float(value)


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output


def bars(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iterfind(".//svg:rect", NS) if r.get("data-series")]


def test_stacked_bars_are_proportional_and_stacked():
    svg = charts.stacked_bars(
        title="Incidents",
        labels=["d1", "d2", "d3"],
        series={"SEV0": [1, 0, 2], "SEV1": [1, 4, 0]},
    )
    root = parse(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    rects = bars(root)
    assert len(rects) == 4  # zero values draw nothing
    by = {(r.get("data-label"), r.get("data-series")): r for r in rects}
    # Axis max is 4 (the tallest stack): heights are proportional to the values.
    h = {k: num(r, "height") for k, r in by.items()}
    assert h[("d2", "SEV1")] == pytest.approx(4 * h[("d1", "SEV0")])
    assert h[("d3", "SEV0")] == pytest.approx(2 * h[("d1", "SEV1")])
    # SEV1 sits on top of SEV0 in the same bar.
    sev0, sev1 = by[("d1", "SEV0")], by[("d1", "SEV1")]
    assert num(sev1, "y") + num(sev1, "height") == pytest.approx(num(sev0, "y"))
    assert sev0.get("fill") == charts.PALETTE["SEV0"]
    assert sev0.get("x") == sev1.get("x")


def test_labels_and_titles_are_escaped():
    svg = charts.stacked_bars(title='<script>"x"', labels=["<b>"], series={"A&B": [1]})
    root = parse(svg)  # would raise on unescaped markup
    assert "<script>" not in svg
    title = root.find("svg:title", NS)
    assert title is not None
    assert title.text == '<script>"x"'


def test_mismatched_series_are_refused():
    with pytest.raises(ValueError, match="2 values for 3 labels"):
        charts.stacked_bars(title="t", labels=["a", "b", "c"], series={"S": [1, 2]})
    with pytest.raises(ValueError, match="2 values for 1 labels"):
        charts.lines(title="t", labels=["a"], series={"S": [1, 2]})


def test_lines_leave_gaps_for_missing_values():
    svg = charts.lines(
        title="MTTA/MTTR",
        labels=["1", "2", "3", "4", "5"],
        series={"MTTA": [1.0, 2.0, None, 4.0, 5.0], "MTTR": [None, None, None, None, 10.0]},
        unit=" min",
    )
    root = parse(svg)
    polylines = root.findall(".//svg:polyline", NS)
    mtta = [p for p in polylines if p.get("data-series") == "MTTA"]
    assert len(mtta) == 2  # split at the missing bucket
    assert [len(str(p.get("points")).split()) for p in mtta] == [2, 2]
    assert not [p for p in polylines if p.get("data-series") == "MTTR"]  # one point: no line
    points = root.findall(".//svg:circle", NS)
    assert len(points) == 5
    top = min(num(c, "cy") for c in points)
    ten = [c for c in points if c.get("data-value") == "10"]
    assert num(ten[0], "cy") == top  # the largest value is the highest point


def test_empty_data_still_draws_an_axis():
    svg = charts.lines(title="none", labels=[], series={"MTTA": []})
    root = parse(svg)
    assert root.findall(".//svg:line", NS)
    assert not root.findall(".//svg:circle", NS)


@pytest.mark.parametrize(
    ("value", "expected"), [(0, 1), (1, 1), (3, 5), (7, 10), (12, 20), (0.3, 0.5), (240, 250)]
)
def test_nice_max(value, expected):
    assert charts.nice_max(value) == pytest.approx(expected)
