"""The reinforcement-learning lab's export signatures: ``act`` and, for a Q-network, ``q_values``."""

import tensorflow as tf

from mit_dl.export import Endpoint


def _check_observations(observations, observation_shape, name):
    """Assertions that the observations have the environment's shape and are finite numbers.

    A NaN or infinite observation would otherwise be answered with action 0 (the arg max of NaNs).
    """
    expected = tf.constant(observation_shape, tf.int32)
    shape = tf.shape(observations)[1:]
    matches = tf.reduce_all(tf.equal(shape, expected)) if len(observation_shape) else tf.constant(True)
    shaped = tf.debugging.Assert(
        matches,
        [
            f"{name}: observations must be shaped [N, {', '.join(map(str, observation_shape))}]; received shape",
            tf.shape(observations),
        ],
    )
    finite = tf.debugging.Assert(
        tf.reduce_all(tf.math.is_finite(observations)),
        [f"{name}: observations must be finite numbers (no NaN or inf); received", observations],
        summarize=8,
    )
    return tf.group(shaped, finite)


def policy_endpoints(act, observation_shape, q_values=None):
    """``act(observations) -> {"actions": int32 [N]}`` and, for a Q-network, ``q_values(observations)``.

    The observations' rank is free in the signature and checked inside, so
    a wrong shape fails with a sentence naming the shape expected.

    Args:
        act: ``act(observations float32 [N, *observation_shape]) -> actions [N]``.
        observation_shape: one observation's shape (``(4,)`` for CartPole).
        q_values: ``q_values(observations) -> [N, actions]`` or None.

    Returns:
        ``{"act": Endpoint}`` (and ``"q_values"``).
    """
    spec = [tf.TensorSpec([None] * (1 + len(observation_shape)), tf.float32, name="observations")]

    def act_fn(observations):
        with tf.control_dependencies([_check_observations(observations, observation_shape, "act")]):
            observations = tf.identity(observations)
        return {"actions": tf.cast(act(observations), tf.int32)}

    endpoints = {"act": Endpoint(act_fn, spec)}
    if q_values is not None:

        def q_fn(observations):
            with tf.control_dependencies([_check_observations(observations, observation_shape, "q_values")]):
                observations = tf.identity(observations)
            return {"q_values": tf.cast(q_values(observations), tf.float32)}

        endpoints["q_values"] = Endpoint(q_fn, spec)
    return endpoints
