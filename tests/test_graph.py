"""Computation graphs: the DOT text (always), and the SVG Graphviz draws from it (when installed)."""

import math
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import s2sad

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "samples"))
import control_flow  # noqa: E402
import lecture  # noqa: E402

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz's dot is not installed"
)
SVG = "{http://www.w3.org/2000/svg}"


def svg_labels(svg: str) -> dict:
    """``{node or edge title: [text lines]}`` of an SVG drawn by Graphviz, parsed as XML."""
    labels = {}
    for group in ET.fromstring(svg).iter(f"{SVG}g"):
        if group.get("class") in ("node", "edge"):
            title = group.find(f"{SVG}title").text
            labels[title] = [text.text for text in group.iter(f"{SVG}text")]
    return labels


def test_seed000_edges_are_the_local_partials_of_the_notes():
    g = s2sad.graph(lecture.seed000_y)
    assert g.edges == [
        ("w1", "w3", "∂w3/∂w1 = w2"),
        ("w2", "w3", "∂w3/∂w2 = w1"),
        ("w1", "w4", "∂w4/∂w1 = cos(w1)"),
        ("w3", "w5", "∂w5/∂w3 = 1"),
        ("w4", "w5", "∂w5/∂w4 = 1"),
    ]
    assert g.nodes["w1"] == ["w1 = x1"] and g.nodes["w5"] == ["w5 = w3 + w4", "output"]
    assert g.dot.startswith('digraph "seed000_y" {') and g.dot.rstrip().endswith("}")
    assert '"w1" -> "w3" [label="∂w3/∂w1 = w2"];' in g.dot


def test_at_a_point_nodes_show_values_and_adjoints_edges_the_partials_value():
    # Seed 000 at (2, 5): w3 = 10, w̄1 = 5 + cos(2) = 4.58385, ∂w3/∂w1 = w2 = 5.
    g = s2sad.graph(lecture.seed000_y, 2.0, 5.0)
    assert g.nodes["w1"] == ["w1 = x1", "= 2", "w̄1 = 4.58385"]
    assert g.nodes["w3"] == ["w3 = w1 * w2", "= 10", "w̄3 = 1"]
    labels = {(tail, head): label for tail, head, label in g.edges}
    assert labels["w1", "w3"] == "∂w3/∂w1 = w2 = 5"
    assert labels["w1", "w4"] == f"∂w4/∂w1 = cos(w1) = {math.cos(2.0):.6g}"
    assert labels["w3", "w5"] == "∂w5/∂w3 = 1"  # a constant partial is not repeated
    assert "seed000_y at x1=2, x2=5" in g.dot


def test_seed002_adjoint_of_t3_is_the_notes_17_4():
    g = s2sad.graph(lecture.seed002_f1, 1.0, -1.0)
    t3 = next(name for name, lines in g.nodes.items() if lines[0] == f"{name} = w3 + w5")
    assert round(float(g.nodes[t3][2].split(" = ")[1]), 1) == 17.4


def test_a_repeated_operand_sums_its_partials_and_comparisons_carry_none():
    def f(x):
        y = x * x
        return y if x > 0 else -y

    g = s2sad.graph(f)
    labels = {(tail, head): label for tail, head, label in g.edges}
    assert labels["w1", "w2"] == "∂w2/∂w1 = 2 * w1"  # w1 + w1, from each operand
    assert labels["w1", "w3"] is None  # x > 0: no derivative, drawn dotted
    assert labels["w3", "w5"] is None  # the condition of the merge
    assert labels["w2", "w5"] == "∂w5/∂w2 = 1 if w3 else 0"


def test_branches_are_clusters_and_a_branch_not_taken_says_so():
    g = s2sad.graph(control_flow.piecewise, 0.5)
    assert g.dot.count("subgraph cluster_") == 4
    assert 'label="if w2"' in g.dot and 'label="else (not w2)"' in g.dot
    assert g.nodes["w3"] == ["w3 = w1 * w1", "not run"]
    labels = {(tail, head): label for tail, head, label in g.edges}
    assert labels["w9", "w10"] == "∂w10/∂w9 = 0 if w2 else 1 = 1"


def test_loops_are_clusters_with_carried_values_and_no_stale_numbers():
    def euler(x, y, n):
        for i in range(n):
            x = math.sin(x) * y + 0.5 * x
        return x

    g = s2sad.graph(euler, 1.0, 2.0, 3)
    assert (
        'label="for w4 in range(w3)\\nvalues: last iteration; adjoints: first iteration"' in g.dot
    )
    assert g.nodes["w5"][0] == "w5 = w1, then w9"
    assert g.nodes["w5"][1].endswith("after the loop") and g.nodes["w5"][2].endswith("on entry")
    assert g.nodes["w4"] == ["w4 in range(w3)"]
    labels = {(tail, head): label for tail, head, label in g.edges}
    assert labels["w1", "w5"] == "∂w5/∂w1 = 1, on entry"
    assert labels["w9", "w5"] == "∂w5/∂w9 = 1, next iteration"
    assert labels["w3", "w4"] is None
    # cos(w5) inside the loop reads the carried value, whose number at the point is the one after
    # the loop, not the one the last iteration read: no number is given rather than a wrong one.
    assert labels["w5", "w6"] == "∂w6/∂w5 = cos(w5)"
    assert labels["w6", "w7"] == "∂w7/∂w6 = w2 = 2"


def test_every_sample_draws():
    for module in (lecture, control_flow):
        for name in dir(module):
            fn = getattr(module, name)
            if callable(fn) and getattr(fn, "__module__", "") == module.__name__:
                assert s2sad.graph(fn).dot.count("->") >= 1


def test_save_dot_and_refuse_unknown_formats(tmp_path):
    g = s2sad.graph(lecture.seed000_simpler)
    g.save(str(tmp_path / "g.dot"))
    assert (tmp_path / "g.dot").read_text(encoding="utf-8") == g.dot
    with pytest.raises(s2sad.ArgumentError, match=r"\.svg, \.png, \.dot"):
        g.save(str(tmp_path / "g.jpg"))


def test_without_graphviz_svg_raises_and_notebooks_fall_back_to_text(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    g = s2sad.graph(lecture.seed000_y)
    assert g._repr_svg_() is None
    with pytest.raises(s2sad.GraphvizNotFoundError, match="apt-get install graphviz"):
        g.svg()


@needs_dot
def test_rendered_svg_has_the_labels():
    labels = svg_labels(s2sad.graph(lecture.seed000_y, 2.0, 5.0).svg())
    assert labels["w3"] == ["w3 = w1 * w2", "= 10", "w̄3 = 1"]
    assert labels["w1->w3"] == ["∂w3/∂w1 = w2 = 5"]
    assert s2sad.graph(lecture.seed000_y)._repr_svg_().lstrip().startswith("<?xml")


@needs_dot
def test_save_png(tmp_path):
    s2sad.graph(control_flow.newton_sqrt, 2.0).save(str(tmp_path / "g.png"))
    assert (tmp_path / "g.png").read_bytes().startswith(b"\x89PNG")


def _layer(W, x):
    z = W @ x
    return np.sum(np.tanh(z)) + 0.5 * np.sum(x * x)


def test_edges_into_operations_on_arrays_carry_what_their_adjoint_rule_passes_back():
    # W @ x and np.sum carry derivatives: no edge of this function is drawn as carrying none, and
    # each array edge says what it adds to its tail's adjoint, with the number at the point. By
    # hand: z̄ = 1 - tanh(z)², W̄ = z̄ xᵀ, and x̄ = Wᵀ z̄ along the matmul edge.
    W, x = np.array([[1.0, 2.0], [0.5, -1.0]]), np.array([0.3, -0.2])
    z_bar = 1 - np.tanh(W @ x) ** 2
    dot = s2sad.graph(_layer, W, x).dot
    edges = [line for line in dot.splitlines() if "->" in line]
    assert edges and not any("dotted" in line for line in edges)
    into_matmul = {
        line.split(" -> ")[0].strip().strip('"'): line for line in edges if '-> "w3"' in line
    }
    w_edge, x_edge = into_matmul["w1"], into_matmul["w2"]
    assert "w̄1 += np.outer(w̄3, w2)" in w_edge and "w̄2 += w1.T @ w̄3" in x_edge
    for line, expected in ((w_edge, np.outer(z_bar, x)), (x_edge, W.T @ z_bar)):
        shown = line.split(" = ", 1)[1].split('"]')[0].replace("\\n", " ")
        numbers = np.array(shown.replace("[", " ").replace("]", " ").split(), dtype=float)
        np.testing.assert_allclose(numbers, expected.ravel(), rtol=1e-7)  # 8 digits printed
    assert "w̄4 += np.broadcast_to(w̄5, (2,))" in dot


def test_large_arrays_are_shown_by_their_shape_and_corners():
    W, x = np.ones((50, 40)), np.linspace(-1.0, 1.0, 40)
    dot = s2sad.graph(_layer, W, x).dot
    assert "w1 = W\\n= (50 × 40) [[1. 1. ... 1. 1.]" in dot
    assert max(len(line) for line in dot.splitlines()) < 400  # a 2000-element array is ~10^4
