"""Dask arrays, which derivative code runs on as it runs on NumPy's.

Generated code calls NumPy functions, and each dispatches to Dask's own for a Dask array (NumPy's
``__array_function__`` protocol), so a gradient of a function of Dask arrays is a Dask array: a graph
of chunked operations that computes nothing until asked. Code is compiled for a Dask array's shape
and dtype as for a NumPy array's; what differs is only what a NumPy array needs and a Dask array
must not get: a copy into memory of its own (a Dask array is never written into, so it needs none)
or a conversion to NumPy, which would compute it. s2sad does not import Dask: a value is a Dask
array by its type.
"""

from __future__ import annotations

import numpy as np


def is_lazy(value) -> bool:
    """Whether ``value`` is a Dask array whose shape is known (no chunk of unknown size)."""
    kind = type(value)
    return (
        kind.__name__ == "Array"
        and kind.__module__.startswith("dask.array")
        and all(isinstance(n, int) for n in value.shape)
    )


def size_of(value) -> int:
    """How many elements ``value`` has, from its shape (``np.size`` would compute a Dask array)."""
    return int(np.prod(np.shape(value)))
