"""Differential testing: random programs over the whole language, every entry point of s2sad checked
against oracles that do not share its code and against the other entry points (see checks.py).

Each test item runs one chunk of seeds, so that pytest-xdist spreads them over the workers. A
failing program's report prints its seed, its features, its full source and the call, which is
enough to pin it: add its seed to ``PINNED_SEEDS``, or its source to ``PINNED``.

Knobs:

- ``S2SAD_DIFF_PROGRAMS=N`` runs N programs instead of ``DEFAULT_PROGRAMS`` (``--slow``: 1000);
  ``S2SAD_DIFF_SEED=S`` starts from seed S (default 0), for a hunt over fresh programs;
- ``S2SAD_DIFF_PENDING=1`` also generates the families in ``PENDING``, runs the checks in
  ``PENDING_CHECKS`` and fails on the failures ``KNOWN`` matches: what is left of the known
  defects;
- ``S2SAD_DIFF_LOG=path`` appends one JSON line per program (seed, features, failures, refusals).

A long hunt: ``S2SAD_DIFF_PROGRAMS=2000 S2SAD_DIFF_SEED=100000 python -m pytest tests/differential
-n 2 -q``. The program of a seed depends on the families allowed: a report says which were left
out, and pinning by source (``PINNED``) survives a change of ``PENDING``.

The summary at the end of the run (tests/conftest.py) counts the programs, the failures by check
(known ones marked) and the refusals (``S2SADError``) by message: a construct the generator makes
that s2sad refuses is a gap in what it covers.
"""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest

from .checks import CHECKS, FINDINGS, run
from .generator import FAMILIES, from_source, generate, load

# Feature families the default run leaves out. Each entry is a known open defect; remove it when the
# fix lands (``S2SAD_DIFF_PENDING=1`` runs them, to see whether it has). Empty since lists of known
# length, input checks and keyword-only parameters passed a hunt of 400 programs.
PENDING = set()
# Checks (and findings, see checks.FINDINGS) the default run leaves out, likewise each a known
# open defect. Empty since printed vjps compiled for example arrays give an unread array zeros of
# its shape, and the source checks follow the contract of code for numbers (given example arrays).
PENDING_CHECKS = set()

# Open defects this harness found that no family or check isolates: a failure whose check and
# message match one of these (regular expressions) is counted as known instead of failing the
# default run. Each entry is an open defect; remove it when the fix lands. Empty since zero
# adjoints of arrays are zeros of their shape in second derivatives and early returns too.
KNOWN = []


DEFAULT_PROGRAMS = 48
SLOW_PROGRAMS = 1000
CHUNK = 4  # programs per test item


def _settings(config):
    count = os.environ.get("S2SAD_DIFF_PROGRAMS")
    if count is not None:
        count = int(count)
    elif config.getoption("--slow", default=False):
        count = SLOW_PROGRAMS
    else:
        count = DEFAULT_PROGRAMS
    start = int(os.environ.get("S2SAD_DIFF_SEED", "0"))
    return start, count


def _pending() -> bool:
    return os.environ.get("S2SAD_DIFF_PENDING", "") not in ("", "0")


def families() -> set:
    return set(FAMILIES) if _pending() else set(FAMILIES) - PENDING


def skipped_checks() -> set:
    return set() if _pending() else set(PENDING_CHECKS)


def pytest_generate_tests(metafunc):
    if "chunk" in metafunc.fixturenames:
        start, count = _settings(metafunc.config)
        chunks = [
            range(first, min(first + CHUNK, start + count))
            for first in range(start, start + count, CHUNK)
        ]
        metafunc.parametrize("chunk", chunks, ids=[f"seeds{c.start}-{c.stop - 1}" for c in chunks])


def _check(programs, tmp_path, record_property) -> None:
    reports, summary = [], {"programs": 0, "refusals": {}, "failures": {}}
    log = os.environ.get("S2SAD_DIFF_LOG")
    for program in programs:
        outcome = run(program, load(program, tmp_path), tmp_path, skip=skipped_checks())
        summary["programs"] += 1
        for check, kind, message in outcome.refusals:
            key = f"{check}: {kind}: {message}"[:300]
            summary["refusals"][key] = summary["refusals"].get(key, 0) + 1
        unknown = [f for f in outcome.failures if not _known(f)]
        for check, kind, _ in outcome.failures:
            key = f"{check} ({kind}{'' if unknown else ', known'})"
            summary["failures"][key] = summary["failures"].get(key, 0) + 1
        if unknown:
            left_out = sorted(set(FAMILIES) - families())
            reports.append(
                f"{outcome.report()}\n(families left out: {left_out or 'none'}; to run this program "
                f"alone: S2SAD_DIFF_SEED={program.seed} S2SAD_DIFF_PROGRAMS=1"
                f"{' S2SAD_DIFF_PENDING=1' if _pending() else ''})"
            )
        if log:
            with open(log, "a") as stream:
                entry = {
                    "seed": program.seed,
                    "features": sorted(program.features),
                    "checks": outcome.checks_run,
                    "failures": outcome.failures,
                    "refusals": outcome.refusals,
                    "notes": dict(outcome.notes),
                }
                stream.write(json.dumps(entry) + "\n")
    record_property("differential", json.dumps(summary))
    if reports:
        pytest.fail("\n\n".join(reports), pytrace=False)


def _known(failure) -> bool:
    if _pending():
        return False
    check, _, message = failure
    return any(re.search(c, check) and re.search(m, message) for c, m in KNOWN)


def test_random_programs(chunk, tmp_path, record_property):
    _check([generate(seed, families()) for seed in chunk], tmp_path, record_property)


# Seeds whose programs failed once, checked on every run whatever the hunt's range.
PINNED_SEEDS = []
# Programs that failed once, written out: (source, args, features).
PINNED = [
    (
        "import math\n\nimport numpy as np\n\nC4 = np.array([0.25, 1.0, -0.5, 2.0])\n\n\n"
        "def h1(a, b=0.5):\n    return math.tanh(a) - (b * 3)\n\n\n"
        "def f(x, w1_bar, v2):\n"
        "    a2 = np.zeros(3)\n"
        "    a2[2] = np.sin(2.0 * C4) @ np.tanh(x * C4)\n"
        "    a3 = 2.0\n"
        "    w5 = np.prod(np.tanh(np.sqrt(1.0 + v2 * v2)) + 0.5)\n"
        "    k4 = 0\n"
        "    while a3 < 3.0 and k4 < 8:\n"
        "        a3 = a3 + 0.5 + math.cos(w1_bar) ** 2\n"
        "    exp = max(a2.mean(), h1(x, x))\n"
        "    return np.sum(v2) + np.sum(a2) + w5 + exp + x + a3\n",
        (0.5775658251003701, 1.3695452290240135, np.linspace(-1.0, 1.2, 12).reshape(3, 4)),
        ("setitem", "while", "helpers", "naming"),
    ),
    (  # a copy of a tangent (w7_dot = w5_dot) read where the reverse sweep restores w7_dot
        "import math\n\nimport numpy as np\n\nC3 = np.array([0.5, -1.0, 1.5])\n\n\n"
        "def h1(a, b=0.5):\n    return a ** 2\n\n\n"
        "def f(w1, w1_bar, v2, v3, n):\n"
        "    k3 = 0\n"
        "    while k3 < 20 and w1_bar < 1.0:\n"
        "        a4 = ((w1 * C3) + (w1_bar * C3)) @ (v2 @ v3)\n"
        "        w1_bar = w1_bar + 0.5 + np.sin(w1 if h1(b=w1_bar, a=w1_bar) > 1.0 else "
        "(a4 / (1.0 + a4 * a4))) ** 2\n"
        "        k3 += 1\n"
        "    return w1 + w1_bar + np.sum(v2) * n\n",
        (
            -0.26177838123204955,
            -0.3297558199233661,
            np.linspace(-0.4, 1.3, 12).reshape(3, 4),
            np.array([-0.05, 1.4, 0.7, 1.1]),
            3,
        ),
        ("arrays", "branches", "helpers", "naming", "numpy_scalars", "while"),
    ),
]


@pytest.mark.parametrize("seed", PINNED_SEEDS)
def test_pinned_seed(seed, tmp_path, record_property):
    _check([generate(seed, families())], tmp_path, record_property)


@pytest.mark.parametrize("index", range(len(PINNED)))
def test_pinned_program(index, tmp_path, record_property):
    source, args, features = PINNED[index]
    _check([from_source(-1 - index, source, args, features)], tmp_path, record_property)


def test_every_check_is_known():
    """PENDING and PENDING_CHECKS name families and checks that exist."""
    assert PENDING <= set(FAMILIES)
    assert PENDING_CHECKS <= set(CHECKS) | set(FINDINGS)
