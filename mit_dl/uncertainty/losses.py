"""The loss of mean-variance estimation: the Gaussian negative log-likelihood with a predicted log-variance.

A network that predicts a mean ``mu(x)`` and a variance ``sigma^2(x)`` for
each target is trained by the negative log-likelihood of a Normal
(Nix and Weigend 1994; lecture 5):

    NLL = 1/2 [ log sigma^2 + (y - mu)^2 / sigma^2 + log 2 pi ]

The network outputs ``s = log sigma^2`` rather than ``sigma`` or
``sigma^2``: any real ``s`` is a valid variance (``exp(s) > 0``), and the
division becomes ``(y - mu)^2 exp(-s)``, which does not blow up as
``sigma -> 0``. A common slip treats the output as ``sigma`` or as
``log sigma`` (half of ``s``) in one place and as ``log sigma^2`` in
another: the loss still trains, but the variance read off the network is
then wrong by a square.
"""

import math

from keras import ops

LOG_TWO_PI = math.log(2.0 * math.pi)


def gaussian_nll(targets, mean, log_variance):
    """Per-element negative log-likelihood of ``targets`` under ``N(mean, exp(log_variance))``.

    Args:
        targets: the observed values.
        mean: the predicted means, shaped like ``targets``.
        log_variance: the predicted ``log sigma^2``, shaped like ``targets``.

    Returns:
        The NLL per element (nats), shaped like ``targets``; average it over
        the batch for a training loss.

    Examples:
        >>> import numpy as np
        >>> value = gaussian_nll(np.array([1.0]), np.array([0.0]), np.array([0.0]))
        >>> round(float(value[0]), 4)  # 1/2 (0 + 1 + log 2 pi)
        1.4189
    """
    targets = ops.cast(targets, "float32")
    mean = ops.cast(mean, "float32")
    log_variance = ops.cast(log_variance, "float32")
    return 0.5 * (log_variance + ops.square(targets - mean) * ops.exp(-log_variance) + LOG_TWO_PI)
