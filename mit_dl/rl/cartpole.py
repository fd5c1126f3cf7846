"""CartPole-v1 in TensorFlow: gymnasium's dynamics, batched over environments, steppable inside ``tf.function``.

A pole hinged on a cart; each step pushes the cart left (action 0) or
right (action 1) with a force of 10 N for ``tau = 0.02`` s. With ``x`` the
cart's position, ``theta`` the pole's angle from upright, ``m`` the pole's
mass, ``M`` the cart's, ``l`` half the pole's length and ``F = +-10``
(Florian 2005, "Correct equations for the dynamics of the cart-pole
system", frictionless, as gymnasium writes them):

    temp      = (F + m l theta'^2 sin theta) / (M + m)
    theta''   = (g sin theta - cos theta temp) / (l (4/3 - m cos^2 theta / (M + m)))
    x''       = temp - m l theta'' cos theta / (M + m)

integrated with explicit Euler (position first from the old velocity, then
the velocity). The reward is 1 for every step, including the one that ends
the episode; an episode *terminates* when ``|x| > 2.4`` or
``|theta| > 12 degrees`` and is *truncated* after 500 steps (gymnasium's
``TimeLimit``). A reset draws the four state values uniformly in
[-0.05, 0.05].

The state is kept in float64, as gymnasium keeps it, and observations are
returned in float32: stepped from the same state with the same actions, the
two agree to float32 rounding (the tests compare 200 steps). The
difference from `gymnasium.vector` is that the whole batch lives in
TensorFlow variables: a rollout of many steps over many environments runs
in one compiled graph, on a CPU or a GPU, and its state is checkpointed
with the agent that holds it.

Episodes that end are reset in the same step (gymnasium's ``SAME_STEP``
autoreset): `Transition.observation` is the first observation of the new
episode and `Transition.final_observation` the last one of the old, which
the Q-learning target needs after a truncation.
"""

import math
from typing import NamedTuple

import tensorflow as tf

GRAVITY = 9.8
CART_MASS = 1.0
POLE_MASS = 0.1
TOTAL_MASS = CART_MASS + POLE_MASS
HALF_LENGTH = 0.5  # gymnasium's ``length``: half the pole's length
POLE_MASS_LENGTH = POLE_MASS * HALF_LENGTH
FORCE = 10.0
TAU = 0.02
X_LIMIT = 2.4
THETA_LIMIT = 12 * 2 * math.pi / 360
MAX_EPISODE_STEPS = 500
RESET_BOUND = 0.05


class Transition(NamedTuple):
    """What one step of a batch of environments returns (one row per environment).

    Attributes:
        observation: ``[N, ...]`` the observation to act on next (a new episode's first after an end).
        reward: ``[N]`` float32.
        terminated: ``[N]`` bool: the episode ended in a terminal state (no value after it).
        truncated: ``[N]`` bool: the episode was cut by the time limit (its last state has a value).
        final_observation: ``[N, ...]`` the observation this step reached, before any reset.
    """

    observation: object
    reward: object
    terminated: object
    truncated: object
    final_observation: object


def dynamics(state, action):
    """One Euler step of the cart-pole equations above.

    Args:
        state: ``[N, 4]`` float64 ``(x, x', theta, theta')``.
        action: ``[N]`` integers, 1 pushes right, 0 pushes left.

    Returns:
        ``(next_state [N, 4], terminated [N] bool)``.

    Examples:
        >>> s, done = dynamics(tf.zeros((1, 4), tf.float64), tf.constant([1]))
        >>> [round(float(v), 4) for v in s[0]], bool(done[0])
        ([0.0, 0.1951, 0.0, -0.2927], False)
    """
    state = tf.convert_to_tensor(state, tf.float64)
    x, x_dot, theta, theta_dot = tf.unstack(state, axis=-1)
    force = tf.where(tf.equal(tf.cast(action, tf.int32), 1), FORCE, -FORCE)
    force = tf.cast(force, tf.float64)
    cos, sin = tf.cos(theta), tf.sin(theta)
    temp = (force + POLE_MASS_LENGTH * tf.square(theta_dot) * sin) / TOTAL_MASS
    theta_acc = (GRAVITY * sin - cos * temp) / (HALF_LENGTH * (4.0 / 3.0 - POLE_MASS * tf.square(cos) / TOTAL_MASS))
    x_acc = temp - POLE_MASS_LENGTH * theta_acc * cos / TOTAL_MASS
    next_state = tf.stack(
        [x + TAU * x_dot, x_dot + TAU * x_acc, theta + TAU * theta_dot, theta_dot + TAU * theta_acc], axis=-1
    )
    x, theta = next_state[:, 0], next_state[:, 2]
    terminated = (x < -X_LIMIT) | (x > X_LIMIT) | (theta < -THETA_LIMIT) | (theta > THETA_LIMIT)
    return next_state, terminated


class CartPole(tf.Module):
    """``num_envs`` CartPole-v1 environments held in TensorFlow variables.

    Args:
        num_envs: environments stepped together.
        seed: seed of the resets' random draws (a `tf.random.Generator`,
            checkpointed with the rest of the state).
        max_episode_steps: the time limit (gymnasium's is 500).

    Examples:
        >>> env = CartPole(3, seed=0)
        >>> env.reset().shape
        TensorShape([3, 4])
        >>> t = env.step(tf.constant([0, 1, 1]))
        >>> t.reward.numpy().tolist(), t.terminated.numpy().tolist()
        ([1.0, 1.0, 1.0], [False, False, False])
    """

    observation_shape = (4,)
    action_count = 2

    def __init__(self, num_envs, seed=0, max_episode_steps=MAX_EPISODE_STEPS, name=None):
        super().__init__(name=name)
        if num_envs < 1:
            raise ValueError(f"num_envs must be at least 1, received {num_envs}")
        self.num_envs = int(num_envs)
        self.max_episode_steps = int(max_episode_steps)
        self.random = tf.random.Generator.from_seed(seed)
        self.state = tf.Variable(tf.zeros((num_envs, 4), tf.float64), trainable=False, name="state")
        self.elapsed = tf.Variable(tf.zeros((num_envs,), tf.int32), trainable=False, name="elapsed")

    def _draw(self):
        return self.random.uniform((self.num_envs, 4), -RESET_BOUND, RESET_BOUND, dtype=tf.float64)

    def reset(self):
        """Start a new episode in every environment.

        Returns:
            The ``[N, 4]`` float32 observations.
        """
        self.state.assign(self._draw())
        self.elapsed.assign(tf.zeros_like(self.elapsed))
        return self.observe()

    def observe(self):
        """The current observations.

        Returns:
            ``[N, 4]`` float32.
        """
        return tf.cast(self.state, tf.float32)

    def set_state(self, state, elapsed=None):
        """Put every environment in a given state.

        Args:
            state: ``[N, 4]`` ``(x, x', theta, theta')``.
            elapsed: ``[N]`` steps already taken in each episode (default 0).
        """
        self.state.assign(tf.convert_to_tensor(state, tf.float64))
        self.elapsed.assign(tf.zeros_like(self.elapsed) if elapsed is None else tf.cast(elapsed, tf.int32))

    def step(self, actions):
        """Apply one action per environment; ended episodes restart in the same step.

        Args:
            actions: ``[N]`` integers (0 left, 1 right).

        Returns:
            A `Transition`.
        """
        next_state, terminated = dynamics(self.state, actions)
        elapsed = self.elapsed + 1
        truncated = (elapsed >= self.max_episode_steps) & ~terminated
        done = terminated | truncated
        fresh = self._draw()
        self.state.assign(tf.where(done[:, None], fresh, next_state))
        self.elapsed.assign(tf.where(done, tf.zeros_like(elapsed), elapsed))
        return Transition(
            observation=self.observe(),
            reward=tf.ones((self.num_envs,), tf.float32),
            terminated=terminated,
            truncated=truncated,
            final_observation=tf.cast(next_state, tf.float32),
        )
