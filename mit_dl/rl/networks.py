"""The lab's networks: a multilayer perceptron for CartPole's 4 numbers, the course's small CNN for Pong frames.

Both map an observation to one output per action (Q-values for DQN,
logits for the policies); `actor_critic_network` adds a value head on the
same trunk.
"""

import keras
from keras import layers


def trunk(observations, hidden=(64, 64)):
    """The shared body on ``observations`` (a `keras.Input`): an MLP for vectors, the course's CNN for Pong frames.

    Args:
        observations: a `keras.Input` shaped ``(4,)`` (CartPole) or ``(80, 80, 1)`` (Pong).
        hidden: the MLP's layer widths (vector observations only).

    Returns:
        The features tensor.
    """
    x = observations
    if len(observations.shape) == 2:
        for width in hidden:
            x = layers.Dense(width, activation="relu")(x)
        return x
    # The course's policy network for Pong: four strided convolutions, then a dense layer.
    for filters, size in ((32, 5), (48, 5), (64, 3), (64, 3)):
        x = layers.Conv2D(filters, size, strides=2, activation="relu")(x)
    return layers.Dense(128, activation="relu")(layers.Flatten()(x))


def action_network(observation_shape, action_count, hidden=(64, 64), name="policy"):
    """Observations ``[N, *observation_shape]`` -> one output per action ``[N, action_count]``.

    Args:
        observation_shape: one observation's shape.
        action_count: the number of actions.
        hidden: the MLP's widths (vector observations).
        name: the model's name.

    Returns:
        A functional `keras.Model`.

    Examples:
        >>> net = action_network((4,), 2)
        >>> tuple(net(keras.ops.zeros((3, 4))).shape)
        (3, 2)
    """
    observations = keras.Input(observation_shape, name="observations")
    outputs = layers.Dense(action_count, name="actions")(trunk(observations, hidden))
    return keras.Model(observations, outputs, name=name)


def actor_critic_network(observation_shape, action_count, hidden=(64, 64), name="actor_critic"):
    """Observations -> ``(logits [N, A], value [N])`` from one trunk.

    Args:
        observation_shape: one observation's shape.
        action_count: the number of actions.
        hidden: the MLP's widths (vector observations).
        name: the model's name.

    Returns:
        A functional `keras.Model` with two outputs.

    Examples:
        >>> logits, value = actor_critic_network((4,), 2)(keras.ops.zeros((3, 4)))
        >>> tuple(logits.shape), tuple(value.shape)
        ((3, 2), (3,))
    """
    observations = keras.Input(observation_shape, name="observations")
    features = trunk(observations, hidden)
    logits = layers.Dense(action_count, name="logits")(features)
    value = layers.Reshape((), name="value")(layers.Dense(1)(features))
    return keras.Model(observations, [logits, value], name=name)
