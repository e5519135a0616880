r"""Draw a small computational graph with its forward values and backward gradients.

A graph is a list of :class:`GraphNode` (a label, the value computed by the forward
pass and the adjoint :math:`\bar v = \partial f / \partial v` computed by the backward
pass) and a list of :class:`GraphEdge` (an arrow from an input to the operation that
consumes it, with the local derivative :math:`\partial\,\text{target} / \partial\,\text{source}`).

Nodes are placed left to right in layers (:func:`layered_layout`): inputs on the left,
the output on the right. :func:`draw_computational_graph` writes each node's value above
it and its adjoint below it; each edge is labelled with its local derivative and, going
backwards, with the contribution :math:`\bar v_{\text{target}}\,\partial\,\text{target} /
\partial\,\text{source}` that it adds to its source's adjoint. A node used twice (``x * x``)
has two parallel edges drawn as two arcs, so that both contributions show.

Only matplotlib is needed (no graphviz).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch

__all__ = [
    "GraphEdge",
    "GraphNode",
    "animate_backward_sweep",
    "draw_computational_graph",
    "layered_layout",
    "sweep_frames",
]

_VALUE_COLOUR = "C0"
_GRAD_COLOUR = "C3"


@dataclass(frozen=True)
class GraphNode:
    """One node: ``label`` is drawn inside it, ``value`` above it and ``grad`` below it."""

    key: Hashable
    label: str
    value: float | None = None
    grad: float | None = None


@dataclass(frozen=True)
class GraphEdge:
    """An arrow ``source -> target``: ``target`` is computed from ``source``.

    ``local`` is the local derivative d target / d source, if known.
    """

    source: Hashable
    target: Hashable
    local: float | None = None


def _check_graph(nodes: Sequence[GraphNode], edges: Sequence[GraphEdge]) -> None:
    keys = [node.key for node in nodes]
    if len(set(keys)) != len(keys):
        raise ValueError("node keys must be unique")
    known = set(keys)
    for edge in edges:
        for end in (edge.source, edge.target):
            if end not in known:
                raise ValueError(
                    f"edge {edge.source!r} -> {edge.target!r} names unknown node {end!r}"
                )


def layered_layout(
    nodes: Sequence[GraphNode], edges: Sequence[GraphEdge]
) -> dict[Hashable, tuple[float, float]]:
    """Positions ``{key: (x, y)}``: x is the node's layer, y spreads a layer's nodes.

    A node's layer is the length of the longest path reaching it from a node without
    inputs, so every edge points to the right. Within a layer nodes keep the order in
    which they are listed, centred on y = 0. Raises ``ValueError`` for a cycle or for an
    edge naming an unknown node.
    """
    _check_graph(nodes, edges)
    incoming: dict[Hashable, int] = {node.key: 0 for node in nodes}
    consumers: dict[Hashable, list[Hashable]] = defaultdict(list)
    for edge in edges:
        incoming[edge.target] += 1
        consumers[edge.source].append(edge.target)
    layer = {node.key: 0 for node in nodes}
    ready = [node.key for node in nodes if incoming[node.key] == 0]
    placed = 0
    while ready:  # Kahn's algorithm: a node is placed once all its inputs are
        key = ready.pop()
        placed += 1
        for target in consumers[key]:
            layer[target] = max(layer[target], layer[key] + 1)
            incoming[target] -= 1
            if incoming[target] == 0:
                ready.append(target)
    if placed != len(nodes):
        raise ValueError("the graph has a cycle; a computational graph must be acyclic")
    by_layer: dict[int, list[Hashable]] = defaultdict(list)
    for node in nodes:
        by_layer[layer[node.key]].append(node.key)
    inputs: dict[Hashable, list[Hashable]] = defaultdict(list)
    for edge in edges:
        inputs[edge.target].append(edge.source)
    rows: dict[Hashable, float] = {}
    for x in sorted(by_layer):
        keys = by_layer[x]
        if x > 0:  # barycentre heuristic: sit near the inputs, which reduces crossings
            keys.sort(key=lambda k: -sum(rows[s] for s in inputs[k]) / max(len(inputs[k]), 1))
        for row, key in enumerate(keys):
            rows[key] = (len(keys) - 1) / 2.0 - row
    return {key: (float(layer[key]), rows[key]) for key in layer}


#: Half-width and half-height, in layer units, of a node with its texts and of an edge label.
_NODE_HALF = (0.22, 0.38)
_LABEL_HALF = (0.24, 0.07)


def _on_arc(p0: tuple[float, float], p1: tuple[float, float], rad: float,
            t: float) -> tuple[float, float]:
    """The point at parameter ``t`` of matplotlib's ``arc3,rad=rad`` curve from p0 to p1.

    arc3 is a quadratic Bezier curve whose control point is the chord's midpoint moved
    sideways by ``rad`` times the chord.
    """
    (x0, y0), (x1, y1) = p0, p1
    cx, cy = (x0 + x1) / 2 + rad * (y1 - y0), (y0 + y1) / 2 - rad * (x1 - x0)
    return ((1 - t) ** 2 * x0 + 2 * t * (1 - t) * cx + t**2 * x1,
            (1 - t) ** 2 * y0 + 2 * t * (1 - t) * cy + t**2 * y1)


def _place_label(p0, p1, rad, taken) -> tuple[float, float]:
    """A point on the edge where its label overlaps the fewest boxes already ``taken``."""
    lw, lh = _LABEL_HALF

    def overlap(x: float, y: float) -> float:
        return sum(max(0.0, hw + lw - abs(x - bx)) * max(0.0, hh + lh - abs(y - by))
                   for bx, by, hw, hh in taken)

    candidates = [_on_arc(p0, p1, rad, t) for t in (0.5, 0.4, 0.6, 0.3, 0.7, 0.25, 0.75)]
    return min(candidates, key=lambda point: overlap(*point))


def _number(value: float, digits: int) -> str:
    return f"{value:.{digits}g}"


def draw_computational_graph(
    nodes: Sequence[GraphNode],
    edges: Sequence[GraphEdge],
    *,
    ax: plt.Axes | None = None,
    title: str | None = None,
    show_backward: bool = True,
    digits: int = 4,
    positions: dict[Hashable, tuple[float, float]] | None = None,
) -> plt.Axes:
    r"""Draw the graph; return the axes.

    Above each node: its value (``v = ...``, blue). Below: its adjoint
    (:math:`\bar v = \ldots`, red) when ``show_backward``. On each edge: the local
    derivative (``∂ ...``) and, when ``show_backward`` and the target's adjoint is known,
    the contribution flowing back along the edge (``← ...``). Numbers are printed with
    ``digits`` significant digits. ``positions`` overrides :func:`layered_layout`.
    """
    _check_graph(nodes, edges)
    positions = positions or layered_layout(nodes, edges)
    ax = ax or plt.gca()
    by_key = {node.key: node for node in nodes}

    # Parallel edges (a node used twice by one operation) are drawn as separate arcs.
    multiplicity: dict[tuple[Hashable, Hashable], int] = defaultdict(int)
    for edge in edges:
        multiplicity[(edge.source, edge.target)] += 1
    seen: dict[tuple[Hashable, Hashable], int] = defaultdict(int)
    # boxes (x, y, half-width, half-height) that an edge label should not cover
    taken = [(x, y, *_NODE_HALF) for x, y in positions.values()]

    for edge in edges:
        pair = (edge.source, edge.target)
        count, index = multiplicity[pair], seen[pair]
        seen[pair] += 1
        rad = 0.0 if count == 1 else 0.5 * (index - (count - 1) / 2) / max((count - 1) / 2, 1)
        (x0, y0), (x1, y1) = positions[edge.source], positions[edge.target]
        ax.add_patch(FancyArrowPatch(
            (x0, y0), (x1, y1), connectionstyle=f"arc3,rad={rad}", arrowstyle="-|>",
            mutation_scale=12, shrinkA=17, shrinkB=17, color="0.45", linewidth=1.2,
            zorder=1,
        ))
        mx, my = _place_label((x0, y0), (x1, y1), rad, taken)
        taken.append((mx, my, *_LABEL_HALF))
        parts = []
        if edge.local is not None:
            parts.append(f"∂ {_number(edge.local, digits)}")
        target_grad = by_key[edge.target].grad
        if show_backward and edge.local is not None and target_grad is not None:
            parts.append(f"← {_number(target_grad * edge.local, digits)}")
        if parts:
            ax.text(mx, my, "   ".join(parts), color=_GRAD_COLOUR if show_backward else "0.35",
                    fontsize=8, ha="center", va="center", zorder=3,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "0.8",
                          "alpha": 0.9})

    for node in nodes:
        x, y = positions[node.key]
        ax.text(x, y, node.label, ha="center", va="center", fontsize=11, zorder=4,
                bbox={"boxstyle": "circle,pad=0.35", "fc": "#f3f3f3", "ec": "0.2"})
        if node.value is not None:
            ax.text(x, y + 0.24, f"v = {_number(node.value, digits)}", color=_VALUE_COLOUR,
                    ha="center", va="bottom", fontsize=9, zorder=4)
        if show_backward and node.grad is not None:
            ax.text(x, y - 0.24, f"v̄ = {_number(node.grad, digits)}", color=_GRAD_COLOUR,
                    ha="center", va="top", fontsize=9, zorder=4)

    xs = [p[0] for p in positions.values()] or [0.0]
    ys = [p[1] for p in positions.values()] or [0.0]
    ax.set_xlim(min(xs) - 0.5, max(xs) + 0.5)
    ax.set_ylim(min(ys) - 0.6, max(ys) + 0.6)
    ax.set_aspect("auto")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax


def sweep_frames(nodes: Sequence[GraphNode], order: Sequence[Hashable]
                 ) -> list[list[GraphNode]]:
    """The graph as a reverse sweep fills it in: one node list per frame.

    Frame 0 has the forward values only; frame ``k`` adds the (complete) adjoints of the
    first ``k`` keys of ``order``, the order in which the sweep reaches the nodes
    (reverse topological: the output first). Adjoints are taken from ``nodes``.
    """
    known = {node.key for node in nodes}
    if set(order) - known or len(set(order)) != len(order):
        raise ValueError("order must list distinct keys of the graph's nodes")
    frames = []
    for k in range(len(order) + 1):
        done = set(order[:k])
        frames.append([GraphNode(n.key, n.label, n.value, n.grad if n.key in done else None)
                       for n in nodes])
    return frames


def animate_backward_sweep(
    nodes: Sequence[GraphNode],
    edges: Sequence[GraphEdge],
    order: Sequence[Hashable],
    *,
    title: str = "The reverse sweep, node by node",
    figsize: tuple[float, float] = (8.0, 3.6),
    interval: int = 1200,
    digits: int = 4,
):
    """An animation (HTML player) of :func:`sweep_frames`: adjoints appear node by node.

    Each frame is drawn by :func:`draw_computational_graph` at fixed positions; the node
    just completed is named in the frame's title.
    """
    from course.animation import animate_drawings

    _check_graph(nodes, edges)
    frames = sweep_frames(nodes, order)
    positions = layered_layout(nodes, edges)
    labels = {node.key: node.label for node in nodes}

    def draw(ax: plt.Axes, frame: int) -> None:
        step = ("forward pass: values" if frame == 0 else
                f"step {frame}: adjoint of {labels[order[frame - 1]]} complete")
        draw_computational_graph(frames[frame], edges, ax=ax, positions=positions,
                                 digits=digits, title=f"{title}\n{step}")

    return animate_drawings(draw, len(frames), figsize=figsize, interval=interval)
