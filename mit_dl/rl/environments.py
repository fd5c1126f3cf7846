"""The lab's environments behind one batched interface: ``reset()`` and ``step(actions) -> Transition``.

- ``cartpole``: gymnasium's ``CartPole-v1`` (pure Python), ``num_envs``
  copies stepped in lockstep;
- ``cartpole-tf``: `mit_dl.rl.cartpole.CartPole`, the same dynamics in
  TensorFlow variables (a whole rollout compiles);
- ``pong``: the Arcade Learning Environment's ``ALE/Pong-v5`` (the ``atari``
  extra; its wheel ships the ROM) seen through `mit_dl.rl.pong`'s
  preprocessing: 80x80 frame differences.

Both kinds return TensorFlow tensors from ``reset`` and ``step``, eagerly
and inside ``tf.function`` (the gymnasium ones through
`tf.numpy_function`, which runs the Python environment in order inside the
graph), so an agent's step is written once for all of them.
"""

import base64
import os
import pickle

import numpy as np
import tensorflow as tf

from mit_dl.errors import ConfigError
from mit_dl.rl import cartpole
from mit_dl.rl.cartpole import Transition
from mit_dl.rl.config import ENVIRONMENTS

# gymnasium draws CartPole's frames with pygame (SDL). On a machine without a display SDL complains
# ("XDG_RUNTIME_DIR is invalid") on every render; its dummy video driver renders to arrays silently.
if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


def _gymnasium():
    try:
        import gymnasium
    except ImportError as error:  # a dependency of the package: a broken install
        raise ImportError("gymnasium is missing: reinstall mit_dl (`pip install -e .`), it depends on it") from error
    return gymnasium


class GymnasiumEnvs:
    """``num_envs`` gymnasium environments stepped together, ended episodes reset in the same step.

    Args:
        make: ``make(index) -> gymnasium.Env``, called once per environment.
        num_envs: how many.
        seed: environment ``i`` is reset first with seed ``seed + i``; later
            resets continue its own random stream, so a run is reproducible.

    Examples:
        >>> import gymnasium
        >>> envs = GymnasiumEnvs(lambda i: gymnasium.make("CartPole-v1"), 2, seed=0)
        >>> envs.reset().shape
        TensorShape([2, 4])
        >>> envs.step(tf.constant([0, 1])).reward.numpy().tolist()
        [1.0, 1.0]
    """

    def __init__(self, make, num_envs, seed=0):
        gymnasium = _gymnasium()
        self.num_envs = int(num_envs)
        self.seed = int(seed)
        self.envs = [make(i) for i in range(self.num_envs)]
        space = self.envs[0].observation_space
        self.observation_shape = tuple(space.shape)
        if not isinstance(self.envs[0].action_space, gymnasium.spaces.Discrete):
            raise ValueError("only environments with a discrete action space are supported")
        self.action_count = int(self.envs[0].action_space.n)
        self._seeded = False

    def _reset(self):
        seeds = [self.seed + i for i in range(self.num_envs)] if not self._seeded else [None] * self.num_envs
        self._seeded = True
        obs = np.stack([np.asarray(env.reset(seed=s)[0], np.float32) for env, s in zip(self.envs, seeds)])
        return obs

    def _step(self, actions):
        observation = np.empty((self.num_envs, *self.observation_shape), np.float32)
        final = np.empty_like(observation)
        reward = np.empty(self.num_envs, np.float32)
        terminated = np.empty(self.num_envs, bool)
        truncated = np.empty(self.num_envs, bool)
        for i, (env, action) in enumerate(zip(self.envs, np.asarray(actions))):
            obs, reward[i], terminated[i], truncated[i], _ = env.step(int(action))
            final[i] = obs
            if terminated[i] or truncated[i]:
                obs, _ = env.reset()
            observation[i] = obs
        return observation, reward, terminated, truncated, final

    def reset(self):
        """Start a new episode in every environment.

        Returns:
            ``[N, *observation_shape]`` float32 observations.
        """
        obs = tf.numpy_function(self._reset, [], tf.float32, stateful=True)
        return tf.ensure_shape(obs, (self.num_envs, *self.observation_shape))

    def step(self, actions):
        """Apply one action per environment; ended episodes restart in the same step.

        Args:
            actions: ``[N]`` integers.

        Returns:
            A `Transition` of tensors.
        """
        out = tf.numpy_function(
            self._step,
            [tf.cast(actions, tf.int64)],
            [tf.float32, tf.float32, tf.bool, tf.bool, tf.float32],
            stateful=True,
        )
        shape = (self.num_envs, *self.observation_shape)
        observation, reward, terminated, truncated, final = out
        return Transition(
            observation=tf.ensure_shape(observation, shape),
            reward=tf.ensure_shape(reward, (self.num_envs,)),
            terminated=tf.ensure_shape(terminated, (self.num_envs,)),
            truncated=tf.ensure_shape(truncated, (self.num_envs,)),
            final_observation=tf.ensure_shape(final, shape),
        )

    def close(self):
        """Close every environment."""
        for env in self.envs:
            env.close()

    def checkpoint_state(self):
        """A trackable that saves the environments in a checkpoint, so a resumed run continues their episodes.

        Each environment is pickled whole (its state, its random generator, the time limit's counter,
        Pong's frame buffer), so after a restore the environments step exactly as they would have.

        Returns:
            A ``tf.train.experimental.PythonState`` for ``tf.train.Checkpoint``.
        """
        return _EnvironmentState(self)


class _EnvironmentState(tf.train.experimental.PythonState):
    """The pickled environments of a `GymnasiumEnvs`, as a checkpoint saves them (base64 text)."""

    def __init__(self, environments):
        self._environments = environments

    def serialize(self):
        blob = pickle.dumps((self._environments.envs, self._environments._seeded))
        return base64.b64encode(blob).decode("ascii")

    def deserialize(self, string_value):
        value = string_value.decode("ascii") if isinstance(string_value, bytes) else string_value
        envs, seeded = pickle.loads(base64.b64decode(value))  # the run's own checkpoint, written by this class
        for env in self._environments.envs:
            env.close()
        self._environments.envs, self._environments._seeded = list(envs), seeded


def make(name, num_envs, seed=0):
    """The environments ``name`` names (one of `ENVIRONMENTS`), ``num_envs`` of them, seeded with ``seed``.

    Args:
        name: ``"cartpole"``, ``"cartpole-tf"`` or ``"pong"``.
        num_envs: environments stepped together.
        seed: the seed of their resets.

    Returns:
        A `mit_dl.rl.cartpole.CartPole` or a `GymnasiumEnvs`.

    Raises:
        ConfigError: an unknown name, or Pong without the ``atari`` extra.
    """
    if name == "cartpole-tf":
        return cartpole.CartPole(num_envs, seed=seed)
    if name == "cartpole":
        gymnasium = _gymnasium()
        return GymnasiumEnvs(lambda i: gymnasium.make("CartPole-v1"), num_envs, seed=seed)
    if name == "pong":
        from mit_dl.rl import pong

        return GymnasiumEnvs(lambda i: pong.make_pong(), num_envs, seed=seed)
    raise ConfigError("env", f"must be one of {', '.join(ENVIRONMENTS)}, received {name!r}")
