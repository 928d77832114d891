"""Start-up latency, for ``python -m s2sad.bench``: each figure measured in fresh processes.

- ``import s2sad`` (target < 0.25 s): s2sad imports NumPy, but not libcst or black;
- the first ``grad`` of a new 20-line function, called once (target < 30 ms), with what importing
  libcst, which parsing any function needs, adds to it shown apart.

The processes keep compiled bytecode (in a temporary ``PYTHONPYCACHEPREFIX``, filled by a first
run), as an installed package does, even where the environment says not to write it. Each figure
is the best of several processes, as the other timings of the benchmark are, so that a busy
machine slows it the least.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

_IMPORT = """
import time
start = time.perf_counter()
import s2sad
print(time.perf_counter() - start)
"""

_FIRST_CALL = """
import sys, time
sys.path.insert(0, {folder!r})
import s2sad
if {preload}:
    import libcst
import s2sad_bench_latency as module
start = time.perf_counter()
s2sad.grad(module.f0, wrt=(0, 1))(0.5, 0.25)
print(time.perf_counter() - start)
"""


def _seconds(script: str, env: dict) -> float:
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env
    )
    return float(done.stdout.split()[-1])


def latency(runs: int = 5) -> dict:
    """Best seconds, each over ``runs`` fresh processes: ``import``, ``first`` (first call,
    importing libcst) and ``first_preloaded`` (libcst imported before the clock starts)."""
    from .bench import _twenty_line_module

    with tempfile.TemporaryDirectory() as folder:
        with open(os.path.join(folder, "s2sad_bench_latency.py"), "w") as handle:
            handle.write(_twenty_line_module(1))
        env = dict(os.environ, PYTHONPYCACHEPREFIX=os.path.join(folder, "bytecode"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        first = _FIRST_CALL.format(folder=folder, preload=False)
        preloaded = _FIRST_CALL.format(folder=folder, preload=True)
        _seconds(preloaded, env)  # compiles the bytecode of everything imported
        times = {"import": [], "first": [], "first_preloaded": []}
        for _ in range(runs):
            times["import"].append(_seconds(_IMPORT, env))
            times["first"].append(_seconds(first, env))
            times["first_preloaded"].append(_seconds(preloaded, env))
    return {key: min(values) for key, values in times.items()}


def report(quick: bool) -> None:
    figures = latency(3 if quick else 7)
    print()
    print("Start-up latency, fresh processes (best of several):")
    print(f"  import s2sad {figures['import'] * 1e3:.0f} ms (target < 250 ms)")
    libcst = figures["first"] - figures["first_preloaded"]
    print(
        f"  first grad of a new 20-line function {figures['first'] * 1e3:.1f} ms (target < 30 ms): "
        f"{figures['first_preloaded'] * 1e3:.1f} ms once libcst is imported, "
        f"importing libcst {libcst * 1e3:.0f} ms"
    )
