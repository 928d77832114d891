"""A least-squares loss over data in chunks: its gradient is a Dask graph, computed when asked.

    python samples/dask_loss.py

needs ``pip install s2sad[dask]``. The data is 200,000 rows in chunks of 25,000; ``s2sad.grad``
runs the generated code on the Dask arrays as it would on NumPy's, so nothing is computed until
``dask.compute`` (or ``np.asarray``) asks for the numbers.
"""

import numpy as np

import s2sad


def loss(w, b, X, y):
    r = X @ w + b - y
    return np.mean(r**2) + 0.01 * np.dot(w, w)


def main():
    import dask
    import dask.array as da

    X = da.random.default_rng(0).normal(size=(200_000, 8), chunks=(25_000, 8))
    y = X @ np.arange(8.0) + 0.5
    w = np.zeros(8)
    dw, db = s2sad.grad(loss, wrt=(0, 1))(w, 0.0, X, y)  # lazy: a graph over the chunks
    dw, db = dask.compute(dw, db)
    print("dL/dw =", np.round(dw, 4))
    print("dL/db =", round(float(db), 4))


if __name__ == "__main__":
    main()
