"""journeys render --svg: the map drawn, with every step, edge and label of the Mermaid one."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET

import pytest

from postventa.cli import main
from postventa.journeys.diagram import journey_graph, render_svg
from postventa.journeys.library import Library

SVG = "{http://www.w3.org/2000/svg}"
JOURNEYS = Library().journeys()


def boxes(root: ET.Element) -> dict[str, tuple[float, float, float, float]]:
    """Each node's bounds (x0, y0, x1, y1), from its rect or polygon."""
    bounds = {}
    for group in root.iter(f"{SVG}g"):
        if group.get("class") != "node":
            continue
        shape = group[0]
        if shape.tag == f"{SVG}rect":
            x, y, w, h = (float(shape.get(k)) for k in ("x", "y", "width", "height"))
            bounds[group.get("id")] = (x, y, x + w, y + h)
        else:
            xs, ys = zip(*(map(float, p.split(",")) for p in shape.get("points").split()), strict=True)
            bounds[group.get("id")] = (min(xs), min(ys), max(xs), max(ys))
    return bounds


@pytest.mark.parametrize("name", sorted(JOURNEYS))
def test_every_step_and_edge_is_drawn_and_no_two_steps_overlap(name):
    journey = JOURNEYS[name]
    graph = journey_graph(journey)
    root = ET.fromstring(render_svg(journey))
    placed = boxes(root)
    assert list(placed) == [node.id for node in graph.nodes]
    for node in graph.nodes:
        (group,) = [g for g in root.iter(f"{SVG}g") if g.get("id") == node.id]
        assert [t.text for t in group.iter(f"{SVG}text")] == list(node.lines)
    for (a, box_a), (b, box_b) in itertools.combinations(placed.items(), 2):
        apart = box_a[2] <= box_b[0] or box_b[2] <= box_a[0] or box_a[3] <= box_b[1] or box_b[3] <= box_a[1]
        assert apart, f"{a} overlaps {b}"
    drawn = [
        (g.get("data-source"), g.get("data-target")) for g in root.iter(f"{SVG}g") if g.get("class") == "edge"
    ]
    assert drawn == [(edge.source, edge.target) for edge in graph.edges]
    labels = {t.text for t in root.findall(f"{SVG}text")}
    assert labels == {edge.label for edge in graph.edges if edge.label}
    width, height = float(root.get("width")), float(root.get("height"))
    assert all(x1 <= width and y1 <= height for _, _, x1, y1 in placed.values())


def test_an_edge_runs_from_the_bottom_of_its_step_to_the_top_of_the_next():
    root = ET.fromstring(render_svg(JOURNEYS["post-purchase"]))
    placed = boxes(root)
    for group in (g for g in root.iter(f"{SVG}g") if g.get("class") == "edge"):
        drawn = group[0]
        if drawn.tag == f"{SVG}line":
            start = (float(drawn.get("x1")), float(drawn.get("y1")))
            end = (float(drawn.get("x2")), float(drawn.get("y2")))
        else:
            numbers = [float(n) for n in re.findall(r"-?[0-9.]+", drawn.get("d"))]
            start, end = (numbers[0], numbers[1]), (numbers[-2], numbers[-1])
        source, target = placed[group.get("data-source")], placed[group.get("data-target")]
        assert start == pytest.approx(((source[0] + source[2]) / 2, source[3]), abs=0.1)
        assert end == pytest.approx(((target[0] + target[2]) / 2, target[1]), abs=0.1)


def test_the_cli_draws_one_map_or_a_folder_of_them(tmp_path, capsys):
    assert main(["journeys", "render", "win-back", "--svg", str(tmp_path / "win-back.svg")]) == 0
    assert ET.parse(tmp_path / "win-back.svg").getroot().tag == f"{SVG}svg"
    assert main(["journeys", "render", "--all", "--svg", str(tmp_path / "maps")]) == 0
    assert sorted(p.stem for p in (tmp_path / "maps").iterdir()) == sorted(JOURNEYS)
