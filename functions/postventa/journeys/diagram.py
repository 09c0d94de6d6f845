"""A journey as a Mermaid flowchart: the map reviewers read instead of the YAML."""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass
from typing import Any

from postventa.journeys.model import (
    Branch,
    BranchStep,
    CallStep,
    Journey,
    SendStep,
    SplitStep,
    WaitForEventStep,
    WaitStep,
    WaitUntilStep,
)
from postventa.logic.send_time import BEST_HOUR
from postventa.models.common import format_duration

END = "journey_end"


def _condition(branch_when: list[Any]) -> str:
    return " and ".join(f"{c.field} {c.op.value} {c.value}" for c in branch_when)


def describe_trigger(journey: Journey) -> str:
    trigger = journey.trigger
    if trigger.event is not None:
        text = str(trigger.event)
    elif trigger.days is not None:
        text = f"{trigger.days} days without an order"
    else:
        text = trigger.occasion.value.replace("_", " ") if trigger.occasion else ""
    return text + (" (with conditions)" if trigger.conditions else "")


@dataclass(frozen=True)
class Node:
    id: str
    lines: tuple[str, ...]
    shape: str  # box, stadium, hexagon, diamond, slanted


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str | None = None


@dataclass(frozen=True)
class JourneyGraph:
    """The map's nodes in document order (start first, then every step, the end, exit goals)
    and its edges in the same order."""

    nodes: list[Node]
    edges: list[Edge]


def _wait_until_text(step: WaitUntilStep) -> str:
    until = step.wait_until
    target = " ".join(
        filter(
            None,
            [
                until.date_field,
                f"+{format_duration(until.offset)}" if until.offset else None,
                "yearly" if until.yearly else None,
                ("at their best hour" if until.at == BEST_HOUR else f"at {until.at} local")
                if until.at
                else None,
            ],
        )
    )
    return f"wait until {target}"


def _node(step: Any) -> Node:
    if isinstance(step, SendStep):
        action = step.send
        detail = f"{action.describe_channels()}: {action.template} ({action.purpose.value})"
        return Node(step.id, (step.id, detail), "box")
    if isinstance(step, CallStep):
        return Node(step.id, (step.id, f"call {step.call.destination}"), "box")
    if isinstance(step, WaitStep):
        return Node(step.id, (f"wait {format_duration(step.wait)}",), "stadium")
    if isinstance(step, WaitUntilStep):
        return Node(step.id, (_wait_until_text(step),), "stadium")
    if isinstance(step, WaitForEventStep):
        awaited = step.wait_for_event
        lines = (f"wait for {awaited.event}", f"at most {format_duration(awaited.timeout)}")
        return Node(step.id, lines, "hexagon")
    if isinstance(step, BranchStep):
        return Node(step.id, (step.id,), "diamond")
    return Node(step.id, (f"{step.id}: split",), "diamond")


def journey_graph(journey: Journey) -> JourneyGraph:
    edges_of: dict[str, list[Edge]] = {}  # step id -> its edges, in document order
    ends = False

    def target(next_id: str | None) -> str:
        nonlocal ends
        if next_id is None:
            ends = True
            return END
        return next_id

    def sequence(steps: list[Any], after: str | None) -> str | None:
        next_id = after
        for step in reversed(steps):
            visit(step, next_id)
            next_id = step.id
        return next_id

    def branch(branch: Branch, after: str | None) -> str:
        return target(sequence(branch.steps, after if branch.then == "continue" else None))

    def visit(step: Any, next_id: str | None) -> None:
        edges = edges_of.setdefault(step.id, [])
        if isinstance(step, WaitForEventStep):
            awaited = step.wait_for_event
            edges.append(Edge(step.id, branch(awaited.on_event, next_id), str(awaited.event)))
            edges.append(Edge(step.id, branch(awaited.on_timeout, next_id), "timeout"))
        elif isinstance(step, BranchStep):
            for case in step.branch.cases:
                edges.append(Edge(step.id, branch(case, next_id), f"{case.name}: {_condition(case.when)}"))
            edges.append(Edge(step.id, branch(step.branch.otherwise, next_id), "otherwise"))
        elif isinstance(step, SplitStep):
            split = step.split
            for variant in split.variants:
                edges.append(
                    Edge(step.id, branch(variant, next_id), f"{variant.name} (weight {variant.weight})")
                )
            if split.holdout_percent:
                edges.append(Edge(step.id, target(None), f"holdout {split.holdout_percent:g}%"))
        else:
            edges.append(Edge(step.id, target(next_id)))

    first = target(sequence(journey.steps, None))
    steps = journey.all_steps()
    nodes = [Node("start", (describe_trigger(journey),), "stadium"), *(_node(step) for step in steps)]
    if ends:
        nodes.append(Node(END, ("end",), "stadium"))
    for goal in journey.exit_on:
        kind = "goal" if goal.converts else "exit"
        scope = (
            "this order" if goal.same_order else f"same {', '.join(goal.same)}" if goal.same else "any order"
        )
        text = f"{kind}: {goal.event} ({scope}) ends the journey"
        nodes.append(Node(f"{kind}_{str(goal.event).lower().replace(' ', '_')}", (text,), "slanted"))
    edges = [Edge("start", first), *(edge for step in steps for edge in edges_of[step.id])]
    return JourneyGraph(nodes, edges)


_MERMAID_SHAPES = {
    "box": '["{}"]',
    "stadium": '(["{}"])',
    "hexagon": '{{{{"{}"}}}}',
    "diamond": '{{"{}"}}',
    "slanted": '[/"{}"/]',
}


def _mermaid_edge(edge: Edge) -> str:
    if edge.label is None:
        return f"{edge.source} --> {edge.target}"
    plain = re.fullmatch(r"[A-Za-z0-9 ]+", edge.label)
    label = edge.label if plain else f'"{edge.label}"'
    return f"{edge.source} -- {label} --> {edge.target}"


def render_mermaid(journey: Journey) -> str:
    graph = journey_graph(journey)

    def node(node: Node) -> str:
        return node.id + _MERMAID_SHAPES[node.shape].format("<br/>".join(node.lines))

    start, *others = graph.nodes
    first, *edges = graph.edges
    lines = ["flowchart TD", f"  {node(start)} --> {first.target}"]
    for each in others:
        lines.append(f"  {node(each)}")
        lines += [f"  {_mermaid_edge(edge)}" for edge in edges if edge.source == each.id]
    return "\n".join(lines)


def maps_markdown(journeys: dict[str, Journey]) -> str:
    """docs/journey-maps.md: every journey's map, regenerated by `make docs`."""
    parts = [
        "# Journey maps\n",
        "Generated by `postventa journeys render --all` (`make docs`); do not edit by hand.\n",
    ]
    for name in sorted(journeys):
        journey = journeys[name]
        parts.append(f"## {name} (version {journey.version})\n\n{journey.description}\n")
        parts.append(f"```mermaid\n{render_mermaid(journey)}\n```\n")
    return "\n".join(parts)


# The SVG map's measures, in pixels: text in a 13 px sans-serif, about 7 px a character.
_CHAR, _LINE, _PAD, _GAP_X, _GAP_Y, _MARGIN = 7.2, 17.0, 10.0, 28.0, 56.0, 20.0


def _layers(graph: JourneyGraph) -> tuple[list[list[Node]], dict[str, int]]:
    """Each connected node on the row of its longest path from the start (the map is a DAG);
    within a row, in document order."""
    depth = {"start": 0}
    incoming: dict[str, int] = {}
    for edge in graph.edges:
        incoming[edge.target] = incoming.get(edge.target, 0) + 1
    ready, order = ["start"], []
    while ready:
        current = ready.pop()
        order.append(current)
        for edge in graph.edges:
            if edge.source == current:
                depth[edge.target] = max(depth.get(edge.target, 0), depth[current] + 1)
                incoming[edge.target] -= 1
                if incoming[edge.target] == 0:
                    ready.append(edge.target)
    rows: list[list[Node]] = [[] for _ in range(max(depth.values()) + 1)]
    for node in graph.nodes:
        if node.id in depth:
            rows[depth[node.id]].append(node)
    return rows, depth


def _size(node: Node) -> tuple[float, float]:
    return max(len(line) for line in node.lines) * _CHAR + 2 * _PAD + 12, len(node.lines) * _LINE + 2 * _PAD


def _shape(node: Node, x: float, y: float, width: float, height: float) -> str:
    style = 'fill="#eef4f6" stroke="#1f4e5f" stroke-width="1.5"'
    if node.shape == "box":
        return f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" rx="4" {style}/>'
    if node.shape == "stadium":
        return (
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" '
            f'rx="{height / 2:.1f}" {style}/>'
        )
    inset = 12.0 if node.shape == "slanted" else height / 2  # a decision's pointed ends
    if node.shape == "slanted":
        points = [(x + inset, y), (x + width, y), (x + width - inset, y + height), (x, y + height)]
    else:  # a wait for an event, a branch or a split: pointed at both ends
        points = [(x + inset, y), (x + width - inset, y), (x + width, y + height / 2)]
        points += [(x + width - inset, y + height), (x + inset, y + height), (x, y + height / 2)]
    return f'<polygon points="{" ".join(f"{px:.1f},{py:.1f}" for px, py in points)}" {style}/>'


def render_svg(journey: Journey) -> str:
    """The map drawn, for someone without a Mermaid viewer: one row per step of the longest path
    from the trigger, edges straight from a step to the next with their labels, exit goals in a
    column on the right."""
    graph = journey_graph(journey)
    rows, depth = _layers(graph)
    goals = [node for node in graph.nodes if node.shape == "slanted"]
    sizes = {node.id: _size(node) for node in graph.nodes}
    row_widths = [sum(sizes[n.id][0] for n in row) + _GAP_X * (len(row) - 1) for row in rows]
    width = max(row_widths) + 2 * _MARGIN
    places: dict[str, tuple[float, float, float, float]] = {}
    y = _MARGIN
    for row, row_width in zip(rows, row_widths, strict=True):
        x = (width - row_width) / 2
        height = max(sizes[n.id][1] for n in row)
        for node in row:
            w, h = sizes[node.id]
            places[node.id] = (x, y + (height - h) / 2, w, h)
            x += w + _GAP_X
        y += height + _GAP_Y
    goal_x, goal_y = width, _MARGIN
    for node in goals:
        w, h = sizes[node.id]
        places[node.id] = (goal_x, goal_y, w, h)
        goal_y += h + _GAP_X
    parts: list[str] = []
    detours, extent = 0, 0.0  # extent: how far right the detours' labels reach
    labels: list[str] = []  # drawn over the steps, so a label crossing one stays readable
    for edge in graph.edges:
        sx, sy, sw, sh = places[edge.source]
        tx, ty, tw, _ = places[edge.target]
        x1, y1, x2, y2 = sx + sw / 2, sy + sh, tx + tw / 2, ty
        skipped = rows[depth[edge.source] + 1 : depth[edge.target]]
        if skipped:  # around the rows it skips, on their right, each detour further out
            detours += 1
            side = max(places[n.id][0] + places[n.id][2] for row in skipped for n in row) + 18 * detours
            pull = (side - (x1 + x2) / 8) / 0.75  # the control points that put the curve's middle at side
            line = f'<path d="M {x1:.1f} {y1:.1f} C {pull:.1f} {y1:.1f}, {pull:.1f} {y2:.1f}, {x2:.1f} {y2:.1f}" fill="none"'
            label_x, label_anchor = side + 4, "start"
            extent = max(extent, label_x + len(edge.label or "") * _CHAR * 0.85 + _MARGIN)
        else:
            line = f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"'
            label_x, label_anchor = (x1 + x2) / 2, "middle"
        label = (
            f'<text x="{label_x:.1f}" y="{(y1 + y2) / 2:.1f}" text-anchor="{label_anchor}" font-size="11" '
            f'fill="#333" stroke="#fff" stroke-width="3" paint-order="stroke">{html.escape(edge.label)}</text>'
            if edge.label
            else ""
        )
        parts.append(
            f'<g class="edge" data-source="{edge.source}" data-target="{edge.target}">'
            f'{line} stroke="#1f4e5f" marker-end="url(#arrow)"/></g>'
        )
        labels.append(label)
    for node in graph.nodes:
        left, top, w, h = places[node.id]
        texts = "".join(
            f'<text x="{left + w / 2:.1f}" y="{top + _PAD + _LINE * (i + 0.75):.1f}" text-anchor="middle" '
            f'fill="#10282f">{html.escape(line)}</text>'
            for i, line in enumerate(node.lines)
        )
        parts.append(f'<g class="node" id="{node.id}">{_shape(node, left, top, w, h)}{texts}</g>')
    parts += [label for label in labels if label]
    total_width = math.ceil(
        max(extent, width + (max(sizes[g.id][0] for g in goals) + _MARGIN if goals else 0))
    )
    total_height = math.ceil(max(y - _GAP_Y, goal_y - _GAP_X) + _MARGIN)
    header = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_width}" height="{total_height}" '
        f'viewBox="0 0 {total_width} {total_height}" font-family="Helvetica, Arial, sans-serif" '
        'font-size="13">',
        f"<title>{html.escape(journey.name)} v{journey.version}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#1f4e5f"/></marker></defs>',
    ]
    return "\n".join([*header, *parts, "</svg>"])
