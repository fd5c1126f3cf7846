"""Argument and input-shape checks shared by the lecture layers.

Each check raises a ``ValueError`` whose single sentence names the layer, the
argument or input at fault, what was received and what is expected.
"""


def positive_int(layer_name, arg_name, value):
    """Return ``value`` as an int, or raise if it is not a positive integer."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{layer_name}: `{arg_name}` must be a positive integer, received {value!r}.")
    return int(value)


def probability(layer_name, arg_name, value):
    """Return ``value`` as a float in [0, 1), or raise."""
    if not isinstance(value, (int, float)) or not 0.0 <= float(value) < 1.0:
        raise ValueError(f"{layer_name}: `{arg_name}` must be a float in [0, 1), received {value!r}.")
    return float(value)


def input_rank(layer_name, shape, ranks, what="input"):
    """Raise unless ``len(shape)`` is one of ``ranks`` (an int or a tuple)."""
    ranks = (ranks,) if isinstance(ranks, int) else tuple(ranks)
    if shape is None or len(shape) not in ranks:
        expected = " or ".join(str(r) for r in ranks)
        got = "unknown" if shape is None else f"{len(shape)} (shape {tuple(shape)})"
        raise ValueError(f"{layer_name}: expected {what} of rank {expected}, received rank {got}.")


def last_dim(layer_name, shape, built_dim, what="input"):
    """Raise if the static last dimension differs from the size the layer was built for."""
    dim = shape[-1]
    if dim is not None and built_dim is not None and int(dim) != int(built_dim):
        raise ValueError(
            f"{layer_name}: {what} feature size {int(dim)} differs from the size "
            f"{int(built_dim)} this layer was built with; feed {built_dim} features."
        )


def known_last_dim(layer_name, shape, what="input"):
    """Return the static last dimension, or raise if it is unknown."""
    if shape[-1] is None:
        raise ValueError(
            f"{layer_name}: the last dimension of the {what} must be known "
            f"to create weights, received shape {tuple(shape)}."
        )
    return int(shape[-1])
