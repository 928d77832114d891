"""Benchmark: ``python -m s2sad.bench`` prints ratios measured in one run.

- gradient ÷ primal: the reverse-mode gradient of each lecture function against the function itself
  (the cheap-gradient principle says a small constant is achievable; target ≤ 3);
- s2sad ÷ hand-written: the generated gradient against a gradient written by hand;
- a scalar loop of 10^5 iterations in reverse mode: gradient ÷ primal (target ≤ 4) and the tape's
  peak memory per iteration, measured with ``tracemalloc``;
- the first call of ``grad`` on a new 20-line function: parse, transform, format and compile
  (target < 50 ms);
- start-up latency in fresh processes: ``import s2sad`` and the first ``grad`` of a new function
  (see :mod:`s2sad.bench_latency`).

Times are the best of several repeats of many calls, so the ratios compare like with like on a busy
machine; absolute times are printed for orientation only.
"""

from __future__ import annotations

import importlib.util
import math
import os
import statistics
import sys
import tempfile
import time
import timeit
import tracemalloc

from . import api

SAMPLES = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "samples", "lecture.py"
)


def best_times(calls: list, args, number: int = 200_000, repeat: int = 7) -> list:
    """Seconds per call of each of ``calls``: the best of ``repeat`` rounds of ``number`` calls, the
    calls timed in turn within each round, so a change in the machine's load hits them alike."""
    timers = [timeit.Timer(lambda call=call: call(*args)) for call in calls]
    best = [float("inf")] * len(calls)
    for _ in range(repeat):
        for i, timer in enumerate(timers):
            best[i] = min(best[i], timer.timeit(number) / number)
    return best


# --- hand-written gradients, as a reader of the notes would write them ---------------------------


def hand_seed000_y(x1, x2):
    return x2 + math.cos(x1), x1


def hand_seed000_graph(a, b):
    return b + 1, (b + 1) + (a + b)


def hand_seed002_f1(u1, u2):
    e1 = math.exp(u1)
    e2 = math.exp(2 * u2)
    t3 = e1 + e2
    s = 1 / (1 + math.exp(-t3))
    t3_bar = math.exp(t3) + s * (1 - s)
    return t3_bar * e1, t3_bar * 2 * e2


def hand_seed003_f(x1, x2):
    x3 = math.log(x1)
    x4 = x2 * x3
    outer = 1 + 0.5 / math.sqrt(x4)
    return outer * x2 / x1, outer * x3


HAND_WRITTEN = {
    "seed000_graph": hand_seed000_graph,
    "seed000_y": hand_seed000_y,
    "seed002_f1": hand_seed002_f1,
    "seed003_f": hand_seed003_f,
}
POINTS = {"seed000_y": (2.0, 5.0), "seed002_f1": (1.0, -1.0), "seed003_f": (2.0, 3.0)}


def _load_samples():
    spec = importlib.util.spec_from_file_location("s2sad_bench_lecture", SAMPLES)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def gradient_table(number: int) -> list:
    """Rows ``(name, primal s, gradient s, hand-written s or None)`` for each lecture function."""
    lecture = _load_samples()
    rows = []
    for name in sorted(n for n in vars(lecture) if n.startswith("seed")):
        fn = getattr(lecture, name)
        result = fn(*POINTS.get(name, (2.0, 1.0)))
        if isinstance(result, tuple):
            continue  # a vector function has a Jacobian, not a gradient
        point = POINTS.get(name, (2.0, 1.0))
        gradient = api.grad(fn, wrt=(0, 1))
        hand = HAND_WRITTEN.get(name)
        if hand is not None:
            assert all(
                math.isclose(a, b, rel_tol=1e-12) for a, b in zip(gradient(*point), hand(*point))
            )
        calls = [fn, gradient] + ([hand] if hand else [])
        times = best_times(calls, point, number)
        rows.append((name, times[0], times[1], times[2] if hand else None))
    return rows


def _twenty_line_module(count: int) -> str:
    """Source of ``count`` distinct 20-line functions (distinct code objects: no cache hits)."""
    blocks = []
    for k in range(count):
        body = [f"def f{k}(x, y):", f"    a = x * y + {k}.5"]
        for i in range(17):
            op = ["a = a * x + math.sin(y)", "b = math.exp(-a * a) + y", "a = a / (1 + b * b)"][
                i % 3
            ]
            body.append(f"    {op}")
        body.append("    return a + b")
        blocks.append("\n".join(body))
    return "import math\n\n\n" + "\n\n\n".join(blocks) + "\n"


def first_call_times(count: int = 12) -> list:
    """Seconds for the first ``grad`` of each of ``count`` new 20-line functions."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "s2sad_bench_twenty.py")
        with open(path, "w") as handle:
            handle.write(_twenty_line_module(count))
        spec = importlib.util.spec_from_file_location("s2sad_bench_twenty", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        times = []
        for k in range(count):
            fn = getattr(module, f"f{k}")
            start = time.perf_counter()
            api.grad(fn, wrt=(0, 1))(0.5, 0.25)
            times.append(time.perf_counter() - start)
    return times


LOOP_SOURCE = """\
import math


def loop(x, y, n):
    for i in range(n):
        x = math.sin(x) * y + 0.5 * x
    return x
"""


def loop_benchmark(iterations: int = 100_000) -> tuple:
    """``(gradient ÷ primal, peak bytes per iteration)`` for a scalar loop in reverse mode."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "s2sad_bench_loop.py")
        with open(path, "w") as handle:
            handle.write(LOOP_SOURCE)
        spec = importlib.util.spec_from_file_location("s2sad_bench_loop", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        gradient = api.grad(module.loop, wrt=(0, 1))
        args = (0.3, 0.7, iterations)
        primal_time, gradient_time = best_times([module.loop, gradient], args, number=3, repeat=9)
        tracemalloc.start()
        gradient(*args)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return gradient_time / primal_time, peak / iterations


def main(argv=None) -> int:
    quick = "--quick" in (argv if argv is not None else sys.argv[1:])
    number = 20_000 if quick else 200_000
    print("Reverse-mode gradient of the lecture functions, w.r.t. both inputs (best of 7 runs)")
    print(
        f"{'function':<16}{'primal':>10}{'gradient':>10}{'grad/primal':>13}{'hand':>9}{'s2sad/hand':>12}"
    )
    for name, primal, gradient, hand in gradient_table(number):
        hand_text = f"{hand * 1e6:7.3f}µs{gradient / hand:11.2f}x" if hand else ""
        print(
            f"{name:<16}{primal * 1e6:8.3f}µs{gradient * 1e6:8.3f}µs{gradient / primal:12.2f}x  {hand_text}"
        )
    iterations = 10_000 if quick else 100_000
    ratio, per_iteration = loop_benchmark(iterations)
    print()
    print(f"Scalar loop `x = sin(x) * y + 0.5 * x`, {iterations} iterations, reverse mode:")
    print(f"  gradient/primal {ratio:.2f}x; tape peak {per_iteration:.0f} bytes per iteration")
    from . import bench_arrays  # it times with best_times, from here

    bench_arrays.report(quick)
    times = first_call_times(4 if quick else 12)
    print()
    print("First call of grad on a new 20-line function (parse, transform, lay out, compile):")
    print(
        f"  first in this process {times[0] * 1e3:.1f} ms (libcst warms up); "
        f"after that median {statistics.median(times[1:]) * 1e3:.1f} ms, max {max(times[1:]) * 1e3:.1f} ms"
    )
    from . import bench_latency

    bench_latency.report(quick)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
