"""The sweeps that build a Jacobian, and the layout of the result.

Both modes produce the same *blocks*: ``blocks[i][j]`` is the derivative of output ``i`` (the
outputs of a tuple, left to right) with respect to input ``j``, an array of shape
``output_i.shape + input_j.shape`` (JAX's convention).

- Forward: one vector-mode sweep (:mod:`s2sad.vector_mode`) whose input tangents are the columns of
  the identity, ``k`` of them for inputs with ``k`` elements in all. The output tangents then hold
  every column of the Jacobian at once.
- Reverse: one forward sweep, then one reverse sweep per output element, seeded with that element's
  unit vector; each gives one row.

The inputs here are numbers and arrays: a structured input is swept as its leaves, and
:func:`s2sad.jacobian` puts their blocks back in its structure.

>>> import numpy as np
>>> [s.tolist() for s in identity_seeds([np.zeros(2), 3.0])]
[[[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]], [0.0, 0.0, 1.0]]
>>> blocks = tangent_blocks(np.zeros(2), np.array([[1.0, 2.0], [3.0, 4.0]]), [np.zeros(2)])
>>> blocks[0][0].tolist()  # rows are output elements, columns input elements
[[1.0, 3.0], [2.0, 4.0]]
"""

from __future__ import annotations

import numpy as np

from .lazy_arrays import is_lazy, size_of
from .trees import keyed, leaves_of, output_tree, tree_of, unflatten


def _dtype(x):
    """Seeds and rows in the input's floating type: float32 in, float32 out."""
    return x.dtype if isinstance(x, np.ndarray) and x.dtype.kind in "fc" else np.float64


def identity_seeds(inputs: list) -> list:
    """The tangents of ``inputs`` in vector mode: together, the ``k`` columns of the k×k identity,
    ``k`` the number of input elements; input ``j``'s has shape ``(k,) + shape_j``."""
    sizes = [size_of(x) for x in inputs]
    total, seeds, start = sum(sizes), [], 0
    for x, size in zip(inputs, sizes):
        seed = np.zeros((total, size), dtype=_dtype(x))
        seed[start : start + size] = np.eye(size)
        seeds.append(seed.reshape((total,) + np.shape(x)))
        start += size
    return seeds


def tangent_blocks(value, value_dot, inputs: list) -> list:
    """The blocks from the output tangents of a vector-mode sweep seeded by :func:`identity_seeds`."""
    total = sum(size_of(x) for x in inputs)
    blocks = []
    for y, dot in zip(leaves_of(value), leaves_of(value_dot)):
        dot = np.broadcast_to(dot, (total,) + np.shape(y))  # a constant output's tangent: 0.0
        row, start = [], 0
        for x in inputs:
            size = size_of(x)
            part = dot[start : start + size].reshape(size, size_of(y)).T
            row.append(part.reshape(np.shape(y) + np.shape(x)))
            start += size
        blocks.append(row)
    return blocks


def forward_blocks(vector_fn, args: tuple, inputs: list) -> list:
    """One vector-mode sweep: ``vector_fn(*args, *seeds)`` returns ``(value, value_dot)``."""
    value, value_dot = vector_fn(*args, *identity_seeds(inputs))
    return tangent_blocks(value, value_dot, inputs)


def directionwise_blocks(tangent_fn, args: tuple, inputs: list) -> list:
    """The same blocks from one ordinary tangent sweep per direction, for programs that have no
    vector form; each sweep takes one slice of the seeds."""
    seeds = identity_seeds(inputs)
    sweeps = [tangent_fn(*args, *(s[d] for s in seeds)) for d in range(len(seeds[0]))]
    value = sweeps[0][0]
    stacked = [np.stack(dots) for dots in zip(*(leaves_of(dot) for _, dot in sweeps))]
    return tangent_blocks(value, stacked, inputs)


def _unit(y, element):
    """The adjoint seed of output ``y``: the unit vector of ``element``, or zeros for ``None``."""
    if not (isinstance(y, np.ndarray) or is_lazy(y)):
        return 0.0 if element is None else 1.0
    seed = np.zeros(y.shape, dtype=_dtype(y))  # in memory, also for a Dask output
    if element is not None:
        seed.flat[element] = 1.0
    return seed


def reverse_blocks(forward, backward, args: tuple, inputs: list, swept=None) -> list:
    """One forward sweep (or its result ``swept``, ``(value, residuals)``), then one reverse sweep
    per output element."""
    value, residuals = swept if swept is not None else forward(*args)
    outputs = leaves_of(value)
    blocks = []
    for i, y in enumerate(outputs):
        rows: list = [[] for _ in inputs]
        for element in range(size_of(y)):
            seeds = [_unit(other, element if k == i else None) for k, other in enumerate(outputs)]
            for row, g, x in zip(rows, backward(*residuals, *seeds), inputs):
                row.append(np.broadcast_to(g, np.shape(x)))
        blocks.append(
            [
                np.array(row, dtype=np.result_type(_dtype(x), *row)).reshape(
                    np.shape(y) + np.shape(x)
                )
                for row, x in zip(rows, inputs)
            ]
        )
    return blocks


def arranged(blocks: list, structure, single: bool):
    """The Jacobian as the user sees it. Where every input and output is a number and the outputs
    are one or a tuple, one matrix (rows are outputs, columns inputs), without the row axis for one
    output or the column axis for one input. Otherwise the output's structure (a tuple per tuple
    of outputs, a dict per dict...) holding, per output, its block for one input or a tuple of
    blocks, one per input (for a structured input, the blocks of its leaves in its structure).
    For one output and one input, both numbers, it is the derivative itself, a float."""
    tree = output_tree(structure)
    numbers = all(tree_of(b) is None and np.ndim(b) == 0 for row in blocks for b in row)
    if not keyed(tree) and numbers and blocks:  # (no outputs: the empty structure itself)
        matrix = np.array(blocks, dtype=float).reshape(len(blocks), len(blocks[0]))
        matrix = matrix if isinstance(structure, tuple) else matrix[0]
        matrix = matrix[..., 0] if single else matrix
        return float(matrix) if matrix.ndim == 0 else matrix
    return unflatten(tree, [row[0] if single else tuple(row) for row in blocks])
