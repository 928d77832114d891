"""samples/tour.ipynb runs as a notebook runs it, and what it displays is well formed.

Each code cell is compiled under a name of its own with its source in ``linecache``, as IPython does
(that is where s2sad reads the functions a notebook defines), run in one namespace, and its last
expression displayed by the richest form it has: HTML (the evaluation table, the gradient check),
SVG (a graph, where Graphviz is installed) or text. HTML and SVG are parsed as XML, so an unclosed
tag or a stray ``&`` fails the test; the table keeps its heading. Where nbclient and a Python kernel
are installed, the notebook is also executed by Jupyter itself.
"""

import ast
import html
import json
import linecache
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "samples" / "tour.ipynb"


def _cells():
    notebook = json.loads(NOTEBOOK.read_text())
    return ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]


def _run_cell(source: str, number: int, namespace: dict):
    """Run a cell as IPython does: its statements, then its last expression, whose value is shown."""
    filename = f"<ipython-input-{number}>"
    lines = source.splitlines(keepends=True)
    linecache.cache[filename] = (len(source), None, lines, filename)
    tree = ast.parse(source, filename)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, filename, "exec"), namespace)
    if last is not None:
        return eval(compile(ast.Expression(last.value), filename, "eval"), namespace)
    return None


def _shown(value):
    """``(kind, text)`` of what a notebook shows for ``value``."""
    for kind in ("html", "svg"):
        method = getattr(value, f"_repr_{kind}_", None)
        text = method() if method is not None else None
        if text:
            return kind, text
    return "text", str(value)


def test_the_tour_runs_and_shows_well_formed_tables_and_pictures(capsys):
    namespace = {"__name__": "__main__"}
    shown = []
    for number, source in enumerate(_cells(), start=1):
        value = _run_cell(source, number, namespace)
        if value is not None:
            shown.append(_shown(value))
    kinds = [kind for kind, _ in shown]
    assert kinds.count("html") == 3  # two evaluation tables and the gradient check
    for kind, text in shown:
        if kind == "html":
            ET.fromstring(f"<div>{text}</div>")  # well formed
        elif kind == "svg":
            ET.fromstring(text)
    tables = [text for kind, text in shown if kind == "html" and "variable" in text]
    assert tables[0].startswith("<p><b>f at x1=2, x2=5</b></p>")
    assert "all components agree" in shown[2][1]
    trace = shown[0][1]
    assert trace.startswith("def f(x1, x2):") and "w3 = w1 * w2" in trace
    assert "def layer_grad(W, x):" in capsys.readouterr().out  # the last cell prints the code
    if shutil.which("dot") is None:  # the graphs fall back to text: their DOT source
        assert [k for k, t in shown if "digraph" in t] == ["text", "text"]


def test_jupyter_executes_the_tour():
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("ipykernel")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    rich = [o for o in outputs if o.output_type == "execute_result" and "text/html" in o.data]
    assert len(rich) == 3 and html.unescape(rich[0].data["text/html"]).startswith("<p><b>f at")
