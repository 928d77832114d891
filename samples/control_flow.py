"""Control flow: a Newton iteration, an ODE integrator differentiated with respect to its parameters,
and a piecewise function. Run ``s2sad samples/control_flow.py:rk4_decay`` to see the generated code.
"""

import math


def newton_sqrt(a):
    """Square root by Newton's iteration until the residual is tiny; its derivative is 1 / (2 sqrt a),
    found by differentiating through every iteration the loop actually ran."""
    x = a
    while abs(x * x - a) > 1e-12 * a:
        x = 0.5 * (x + a / x)
    return x


def rk4_decay(k, y0, t_end, steps):
    """Classic Runge-Kutta for y' = -k y from y(0) = y0 to t_end: y(t_end) ~= y0 exp(-k t_end),
    so dy/dk ~= -t_end y0 exp(-k t_end) and dy/dy0 ~= exp(-k t_end)."""
    h = t_end / steps
    y = y0
    for i in range(steps):
        k1 = -k * y
        k2 = -k * (y + 0.5 * h * k1)
        k3 = -k * (y + 0.5 * h * k2)
        k4 = -k * (y + h * k3)
        y = y + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return y


def projectile_range(speed, angle, drag, dt):
    """Explicit Euler for a projectile with quadratic drag, until it lands: the distance travelled.
    Differentiate it with respect to the launch angle to aim."""
    x, y = 0.0, 0.0
    vx, vy = speed * math.cos(angle), speed * math.sin(angle)
    while y >= 0.0:
        v = math.hypot(vx, vy)
        vx = vx - dt * drag * v * vx
        vy = vy - dt * (9.81 + drag * v * vy)
        x = x + dt * vx
        y = y + dt * vy
    return x


def piecewise(x):
    """A smooth-enough piecewise function: quadratic, then linear, then logarithmic."""
    if x < 0.0:
        return x * x
    elif x < 1.0:
        return 2.0 * x * 0.5
    else:
        return 1.0 + math.log(x)
