"""A layer of a network, for the table of the notes with arrays:

s2sad samples/layer.py:layer --at "W=[[1,2],[0.5,-1]]" "x=[0.3,-0.2]"
"""

import numpy as np


def layer(W, x):
    z = W @ x
    return np.sum(np.tanh(z)) + 0.5 * np.sum(x * x)
