"""Train a small MLP on a synthetic dataset with s2sad gradients and plain gradient descent.

    python samples/train_mlp.py

The data are points in the plane labelled by whether they fall inside a circle; the network has one
tanh hidden layer and a sigmoid output, trained on the mean binary cross-entropy. The loss printed
every 50 steps falls as the network learns the circle. The parameters travel as one dict, and so
does their gradient.
"""

import numpy as np

import s2sad


def loss(params, X, labels):
    hidden = np.tanh(X @ params["W1"] + params["b1"])
    logits = hidden @ params["W2"] + params["b2"]
    p = 1 / (1 + np.exp(-logits))
    eps = 1e-9
    return -np.mean(labels * np.log(p + eps) + (1 - labels) * np.log(1 - p + eps))


def dataset(count, rng):
    X = rng.uniform(-1.5, 1.5, size=(count, 2))
    labels = (np.sum(X**2, axis=1) < 1.0).astype(float)
    return X, labels


def train(steps=400, rate=1.0, hidden=16, seed=0, report=print):
    rng = np.random.default_rng(seed)
    X, labels = dataset(256, rng)
    params = {
        "W1": rng.normal(scale=1.0, size=(2, hidden)),
        "b1": np.zeros(hidden),
        "W2": rng.normal(scale=1.0 / np.sqrt(hidden), size=hidden),
        "b2": 0.0,
    }
    value_and_grad = s2sad.value_and_grad(loss)
    history = []
    for step in range(steps + 1):
        value, grads = value_and_grad(params, X, labels)
        history.append(float(value))
        if step % 50 == 0:
            report(f"step {step:4d}  loss {value:.4f}")
        params = {name: params[name] - rate * grads[name] for name in params}
    return history


if __name__ == "__main__":
    train()
