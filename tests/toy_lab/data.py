"""The toy lab's data: the numbers it counts."""


def numbers(config):
    """``0 .. steps - 1``."""
    return list(range(config.steps))
