"""What every agent of the lab shares: its environments, its episode tracker, its random generator, acting.

An agent is a `keras.Model` whose ``train_step`` is one *iteration*: it
collects experience from its environments and updates its networks. The
shared `mit_dl.training.Trainer` runs the iterations (compiled, with the
progress bar, TensorBoard, checkpoints and the NaN guard); the batch it
hands to ``train_step`` is a placeholder, the data being made inside the
step. Everything that must survive a restart (the environments' state when
they are TensorFlow's, the replay buffer, the tracker, the generator) is
returned by `Agent.checkpoint_objects` and saved beside the networks.
"""

import keras
import tensorflow as tf

from mit_dl.rl import returns
from mit_dl.rl.episodes import EpisodeTracker


def sample_actions(logits, generator):
    """Draw one action per row of ``logits`` ``[N, A]`` from the softmax policy (the Gumbel-max trick).

    ``argmax(logits + g)`` with ``g = -log(-log U)`` is distributed as
    ``softmax(logits)``; the uniform draws come from ``generator``, whose
    state is checkpointed, so a resumed run draws the same actions.

    Args:
        logits: ``[N, A]`` the policy's logits.
        generator: a `tf.random.Generator`.

    Returns:
        ``[N]`` int32 actions.
    """
    logits = tf.cast(logits, tf.float32)
    uniform = generator.uniform(tf.shape(logits), minval=1e-12, maxval=1.0)
    return tf.argmax(logits - tf.math.log(-tf.math.log(uniform)), axis=-1, output_type=tf.int32)


class Agent(keras.Model):
    """The base of `DQNAgent`, `ReinforceAgent` and `ActorCriticAgent`.

    Args:
        env: the environments (`mit_dl.rl.environments.make`).
        gamma: the discount factor in [0, 1].
        seed: seed of the agent's own draws (exploration, sampled actions, replay).
    """

    def __init__(self, env, gamma=0.99, seed=0, **kwargs):
        super().__init__(**kwargs)
        returns.check_discount(gamma)
        self.gamma = float(gamma)
        self._environments = env
        self._episode_tracker = EpisodeTracker(env.num_envs)
        self._generator = tf.random.Generator.from_seed(seed)
        self.num_envs = env.num_envs
        self.observation_shape = tuple(env.observation_shape)
        self.action_count = int(env.action_count)
        self._observation = None

    @property
    def env(self):
        """The environments this agent steps."""
        return self._environments

    @property
    def tracker(self):
        """The `EpisodeTracker` of the training episodes."""
        return self._episode_tracker

    def observation(self):
        """The observations to act on next.

        Returns:
            A variable ``[N, *observation_shape]`` (the first call resets the environments to fill it).
        """
        if self._observation is None:
            self._observation = tf.Variable(self._environments.reset(), trainable=False, name="observation")
        return self._observation

    def restart_episodes(self):
        """Reset every environment and forget the running episodes."""
        self.observation().assign(self._environments.reset())
        self._episode_tracker.restart()

    def checkpoint_objects(self):
        """What a checkpoint saves beside the networks.

        Returns:
            ``{name: trackable}``: tracker, generator, current observations, and the
            environments (TensorFlow's variables, or gymnasium's pickled).
        """
        objects = {"tracker": self._episode_tracker, "agent_random": self._generator, "observation": self.observation()}
        if isinstance(self._environments, tf.Module):
            objects["env"] = self._environments
        elif hasattr(self._environments, "checkpoint_state"):  # gymnasium's, pickled
            objects["env"] = self._environments.checkpoint_state()
        return objects

    def compile(self, optimizer, **kwargs):
        """Compile with ``optimizer`` and build its slots for the trained variables (so checkpoints restore them).

        Args:
            optimizer: a Keras optimizer.
            **kwargs: passed to `keras.Model.compile`.
        """
        super().compile(optimizer=optimizer, **kwargs)
        self.optimizer.build(self.trainable_variables)

    @property
    def acting_network(self):
        """The network `greedy_actions` uses (exported as the policy)."""
        raise NotImplementedError

    def greedy_actions(self, observations):
        """The action each row of ``observations`` takes at evaluation (highest Q-value or logit).

        Args:
            observations: ``[N, *observation_shape]``.

        Returns:
            ``[N]`` int32 actions.
        """
        raise NotImplementedError

    def call(self, observations):
        return self.greedy_actions(observations)
