"""Newton's method for a system of nonlinear equations, with the Jacobian from s2sad.

To solve F(v) = 0, Newton's method replaces F near the current guess v by its linearisation
F(v) + J(v) d and steps to the zero of that: solve J(v) d = -F(v), then v <- v + d. Near a root where
J is invertible the error squares at every step, so the residual |F(v)| falls quadratically: the
number of correct digits doubles. ``s2sad.jacobian`` gives J(v) exactly (no finite differences to
tune); for 3 equations in 3 unknowns, "auto" mode takes the reverse mode (3 outputs, not fewer than 3
inputs).

Run ``python samples/newton.py``; the system below has a root at (1, 2, 3).
"""

import numpy as np

import s2sad


def equations(v):
    """F(x, y, z): a sphere of radius sqrt(14), a product and an exponential, all zero at (1, 2, 3)."""
    x, y, z = v[0], v[1], v[2]
    return np.array([x * x + y * y + z * z - 14.0, x * y * z - 6.0, np.exp(x - 1.0) + y - z])


def newton(F, v, tolerance=1e-13, max_steps=20):
    """The root Newton's method reaches from ``v``, and the residual norm |F(v)| at each step."""
    jacobian = s2sad.jacobian(F)
    residuals = []
    for _ in range(max_steps):
        r = F(v)
        residuals.append(float(np.linalg.norm(r)))
        if residuals[-1] < tolerance:
            break
        v = v - np.linalg.solve(jacobian(v), r)
    return v, residuals


def main():
    root, residuals = newton(equations, np.array([1.2, 1.8, 2.7]))
    for step, r in enumerate(residuals):
        print(f"step {step}: |F(v)| = {r:.3e}")
    print("root:", root)


if __name__ == "__main__":
    main()
