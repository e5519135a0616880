"""Layout and drawing of computational graphs (course.graph_drawing)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.patches import FancyArrowPatch

from course.graph_drawing import (
    GraphEdge,
    GraphNode,
    draw_computational_graph,
    layered_layout,
)

# f(x, y) = x*x*y + (y + 2) at (3, 4), values and adjoints
NODES = [
    GraphNode("x", "x", 3.0, 24.0),
    GraphNode("y", "y", 4.0, 10.0),
    GraphNode("c", "2", 2.0, 1.0),
    GraphNode("xx", "×", 9.0, 4.0),
    GraphNode("xxy", "×", 36.0, 1.0),
    GraphNode("y2", "+", 6.0, 1.0),
    GraphNode("f", "+", 42.0, 1.0),
]
EDGES = [
    GraphEdge("x", "xx", 3.0), GraphEdge("x", "xx", 3.0),
    GraphEdge("xx", "xxy", 4.0), GraphEdge("y", "xxy", 9.0),
    GraphEdge("y", "y2", 1.0), GraphEdge("c", "y2", 1.0),
    GraphEdge("xxy", "f", 1.0), GraphEdge("y2", "f", 1.0),
]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_layout_puts_every_edge_left_to_right():
    positions = layered_layout(NODES, EDGES)
    assert set(positions) == {node.key for node in NODES}
    for edge in EDGES:
        assert positions[edge.source][0] < positions[edge.target][0]
    assert positions["x"][0] == positions["y"][0] == 0.0
    assert positions["f"][0] == 3.0  # longest path x -> xx -> xxy -> f


def test_layout_spreads_a_layer_without_overlap():
    positions = layered_layout(NODES, EDGES)
    layer0 = sorted(positions[k][1] for k in ("x", "y", "c"))
    assert layer0 == [-1.0, 0.0, 1.0]


def test_layout_rejects_cycles_and_unknown_nodes():
    with pytest.raises(ValueError, match="cycle"):
        layered_layout([GraphNode("a", "a"), GraphNode("b", "b")],
                       [GraphEdge("a", "b"), GraphEdge("b", "a")])
    with pytest.raises(ValueError, match="unknown node"):
        layered_layout([GraphNode("a", "a")], [GraphEdge("a", "zzz")])
    with pytest.raises(ValueError, match="unique"):
        layered_layout([GraphNode("a", "a"), GraphNode("a", "b")], [])


def test_drawing_shows_values_adjoints_and_contributions():
    _, ax = plt.subplots()
    returned = draw_computational_graph(NODES, EDGES, ax=ax, title="seed example")
    assert returned is ax
    texts = [t.get_text() for t in ax.texts]
    assert "v = 42" in texts and "v̄ = 24" in texts and "v̄ = 10" in texts
    # the two edges x -> x*x each send 4 * 3 = 12 back; y receives 9 and 1
    assert sum("← 12" in t for t in texts) == 2
    assert any("∂ 9" in t and "← 9" in t for t in texts)
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    assert len(arrows) == len(EDGES)
    assert ax.get_title() == "seed example"


def test_parallel_edges_are_drawn_as_distinct_arcs():
    _, ax = plt.subplots()
    draw_computational_graph(NODES, EDGES, ax=ax)
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    styles = {str(a.get_connectionstyle().rad) for a in arrows[:2]}
    assert len(styles) == 2


def test_forward_only_drawing_hides_adjoints():
    _, ax = plt.subplots()
    draw_computational_graph(NODES, EDGES, ax=ax, show_backward=False)
    texts = [t.get_text() for t in ax.texts]
    assert not any("v̄" in t or "←" in t for t in texts)
    assert "v = 36" in texts


def test_explicit_positions_override_the_layout():
    _, ax = plt.subplots()
    positions = {node.key: (float(i), 0.0) for i, node in enumerate(NODES)}
    draw_computational_graph(NODES, EDGES, ax=ax, positions=positions)
    assert ax.get_xlim() == (-0.5, len(NODES) - 0.5)


@settings(max_examples=30)
@given(st.lists(st.lists(st.integers(0, 30), max_size=3), min_size=1, max_size=12))
def test_random_dags_lay_out_left_to_right(parent_choices):
    nodes = [GraphNode(i, str(i)) for i in range(len(parent_choices))]
    edges = [GraphEdge(p % i, i) for i, parents in enumerate(parent_choices) if i
             for p in parents]
    positions = layered_layout(nodes, edges)
    for edge in edges:
        assert positions[edge.source][0] < positions[edge.target][0]
    per_layer: dict[float, list[float]] = {}
    for x, y in positions.values():
        per_layer.setdefault(x, []).append(y)
    for ys in per_layer.values():
        assert len(set(ys)) == len(ys)


def test_sweep_frames_fill_in_adjoints_in_the_sweep_order():
    from course.graph_drawing import sweep_frames

    nodes = [GraphNode("x", "x", 3.0, 24.0), GraphNode("y", "y", 4.0, 10.0),
             GraphNode("f", "f", 42.0, 1.0)]
    frames = sweep_frames(nodes, ["f", "y", "x"])
    assert len(frames) == 4
    assert [n.grad for n in frames[0]] == [None, None, None]
    assert [n.grad for n in frames[2]] == [None, 10.0, 1.0]
    assert [n.grad for n in frames[3]] == [24.0, 10.0, 1.0]
    with pytest.raises(ValueError, match="distinct keys"):
        sweep_frames(nodes, ["f", "f"])


def test_backward_sweep_animation_has_one_frame_per_node_and_closes_its_figure():
    from course.graph_drawing import animate_backward_sweep

    plt.close("all")
    nodes = [GraphNode("x", "x", 3.0, 6.0), GraphNode("s", "×", 9.0, 1.0)]
    edges = [GraphEdge("x", "s", 3.0), GraphEdge("x", "s", 3.0)]
    html = animate_backward_sweep(nodes, edges, ["s", "x"])
    assert html.data.count("data:image/png;base64") == 3
    assert plt.get_fignums() == []
