"""An experience replay buffer held in TensorFlow variables, so it fills, samples and checkpoints in the graph.

DQN (Mnih et al. 2015) learns from transitions ``(s, a, r, s', terminal)``
drawn uniformly from the last ``capacity`` ones seen, not from the latest
few: consecutive transitions are strongly correlated, and replay breaks the
correlation and reuses each transition many times. The buffer is a ring:
once full, each new transition overwrites the oldest.

Everything lives in variables (the transitions, the write position, the
count, the sampling generator), so a checkpoint of the agent holding it
restores the buffer exactly and a resumed run samples the same batches.
"""

import tensorflow as tf

from mit_dl.errors import ConfigError


class ReplayBuffer(tf.Module):
    """A ring of the last ``capacity`` transitions.

    Args:
        capacity: transitions kept.
        observation_shape: the shape of one observation.
        batch_size: transitions per `sample` (checked against ``capacity``).
        seed: seed of the sampling generator.

    Examples:
        >>> buffer = ReplayBuffer(4, (2,), batch_size=2, seed=0)
        >>> for i in range(6):  # 6 > 4: the two oldest are overwritten
        ...     buffer.add(tf.fill((1, 2), float(i)), tf.constant([0]), tf.constant([1.0]),
        ...                tf.fill((1, 2), i + 1.0), tf.constant([False]))
        >>> int(buffer.size), sorted(buffer.observations[:, 0].numpy().tolist())
        (4, [2.0, 3.0, 4.0, 5.0])
    """

    def __init__(self, capacity, observation_shape, batch_size, seed=0, name=None):
        super().__init__(name=name)
        if capacity < batch_size:
            raise ConfigError(
                "replay_capacity", f"must hold at least one batch ({batch_size} transitions), received {capacity}"
            )
        self.capacity = int(capacity)
        self.batch_size = int(batch_size)
        shape = (self.capacity, *observation_shape)

        def variable(value, name):
            return tf.Variable(value, trainable=False, name=name)

        self.observations = variable(tf.zeros(shape), "observations")
        self.actions = variable(tf.zeros((self.capacity,), tf.int32), "actions")
        self.rewards = variable(tf.zeros((self.capacity,)), "rewards")
        self.next_observations = variable(tf.zeros(shape), "next_observations")
        self.terminals = variable(tf.zeros((self.capacity,)), "terminals")
        self.position = variable(tf.constant(0, tf.int64), "position")
        self.size = variable(tf.constant(0, tf.int64), "size")
        self.random = tf.random.Generator.from_seed(seed)

    def add(self, observations, actions, rewards, next_observations, terminals):
        """Write ``K`` transitions at the ring's position (``K <= capacity``).

        Args:
            observations: ``[K, *observation_shape]``.
            actions: ``[K]``.
            rewards: ``[K]``.
            next_observations: ``[K, *observation_shape]``.
            terminals: ``[K]`` (bool or 0/1).
        """
        count = tf.shape(actions, out_type=tf.int64)[0]
        index = (self.position + tf.range(count)) % self.capacity
        index = index[:, None]
        self.observations.scatter_nd_update(index, tf.cast(observations, tf.float32))
        self.actions.scatter_nd_update(index, tf.cast(actions, tf.int32))
        self.rewards.scatter_nd_update(index, tf.cast(rewards, tf.float32))
        self.next_observations.scatter_nd_update(index, tf.cast(next_observations, tf.float32))
        self.terminals.scatter_nd_update(index, tf.cast(terminals, tf.float32))
        self.position.assign((self.position + count) % self.capacity)
        self.size.assign(tf.minimum(self.size + count, self.capacity))

    def sample(self):
        """``batch_size`` transitions drawn uniformly with replacement from those stored.

        Returns:
            ``(observations, actions, rewards, next_observations, terminals)``.
        """
        index = self.random.uniform((self.batch_size,), 0, tf.maximum(self.size, 1), dtype=tf.int64)
        return tuple(
            tf.gather(v, index)
            for v in (self.observations, self.actions, self.rewards, self.next_observations, self.terminals)
        )
