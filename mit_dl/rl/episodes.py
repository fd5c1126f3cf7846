"""Episode bookkeeping in TensorFlow variables: running returns, the last 100 finished episodes, counters.

The agents call `EpisodeTracker.update` after every batched step; the
tracker adds the rewards to each environment's running return and, where an
episode ended, files that return into a ring of the last ``window`` finished
episodes. ``mean_return`` is the curve the lab plots (RL Zoo and the
gymnasium docs call it the rolling mean of the last 100 episodes). Being
variables, the counts and the ring are checkpointed with the agent, so a
resumed run continues the same curve.
"""

import tensorflow as tf


class EpisodeTracker(tf.Module):
    """Running returns of ``num_envs`` environments and the returns of the last ``window`` finished episodes.

    Args:
        num_envs: environments stepped together.
        window: finished episodes averaged by `mean_return`.

    Examples:
        >>> tracker = EpisodeTracker(2, window=3)
        >>> tracker.update(tf.constant([1.0, 1.0]), tf.constant([False, True]))
        >>> tracker.update(tf.constant([1.0, 1.0]), tf.constant([True, False]))
        >>> int(tracker.episodes), float(tracker.mean_return())
        (2, 1.5)
    """

    def __init__(self, num_envs, window=100, name=None):
        super().__init__(name=name)
        self.window = int(window)

        def variable(value, name):
            return tf.Variable(value, trainable=False, name=name)

        self.running = variable(tf.zeros((num_envs,)), "running")
        self.lengths = variable(tf.zeros((num_envs,), tf.int64), "lengths")
        self.recent = variable(tf.zeros((self.window,)), "recent")
        self.recent_lengths = variable(tf.zeros((self.window,), tf.int64), "recent_lengths")
        self.episodes = variable(tf.constant(0, tf.int64), "episodes")
        self.env_steps = variable(tf.constant(0, tf.int64), "env_steps")

    def update(self, rewards, dones, active=None):
        """Add one step's ``rewards`` ``[N]``; file the returns of the episodes that ``dones`` ends.

        Args:
            rewards: ``[N]`` this step's rewards.
            dones: ``[N]`` bool, terminated or truncated.
            active: ``[N]`` bool, the environments whose step counts (default all):
                the others (already-finished episodes of an episode batch) are ignored.
        """
        dones = tf.cast(dones, tf.bool)
        active = tf.ones_like(dones) if active is None else tf.cast(active, tf.bool)
        rewards = tf.where(active, tf.cast(rewards, tf.float32), 0.0)
        self.running.assign_add(rewards)
        self.lengths.assign_add(tf.cast(active, tf.int64))
        self.env_steps.assign_add(tf.reduce_sum(tf.cast(active, tf.int64)))
        ended = dones & active
        finished = tf.boolean_mask(self.running, ended)
        finished_lengths = tf.boolean_mask(self.lengths, ended)
        count = tf.shape(finished, out_type=tf.int64)[0]
        index = ((self.episodes + tf.range(count)) % self.window)[:, None]
        self.recent.scatter_nd_update(index, finished)
        self.recent_lengths.scatter_nd_update(index, finished_lengths)
        self.episodes.assign_add(count)
        self.running.assign(tf.where(ended, 0.0, self.running))
        self.lengths.assign(tf.where(ended, tf.zeros_like(self.lengths), self.lengths))

    def restart(self):
        """Forget the running episodes (the environments were all reset)."""
        self.running.assign(tf.zeros_like(self.running))
        self.lengths.assign(tf.zeros_like(self.lengths))

    def mean_return(self):
        """Mean return of the last ``window`` finished episodes.

        Returns:
            A float32 scalar (0 before the first episode ends).
        """
        filled = tf.minimum(self.episodes, self.window)
        total = tf.reduce_sum(self.recent[: tf.cast(filled, tf.int32)])
        return total / tf.maximum(tf.cast(filled, tf.float32), 1.0)

    def logs(self):
        """The scalars an agent's step reports.

        Returns:
            ``{"return_100", "episodes", "env_steps"}`` as float32 scalars.
        """
        return {
            f"return_{self.window}": self.mean_return(),
            "episodes": tf.cast(self.episodes, tf.float32),
            "env_steps": tf.cast(self.env_steps, tf.float32),
        }
