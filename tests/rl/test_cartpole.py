"""The TensorFlow CartPole against gymnasium's, step for step, and its batching, resets and checkpoints."""

import gymnasium
import numpy as np
import pytest
import tensorflow as tf

from mit_dl.errors import ConfigError
from mit_dl.rl import cartpole, environments


def _gymnasium_rollout(start, actions):
    """gymnasium's CartPole-v1 from ``start`` under ``actions``: observations and the terminating step."""
    env = gymnasium.make("CartPole-v1").unwrapped
    env.reset(seed=0)
    env.state = np.array(start, np.float64)
    observations, end = [], None
    for t, action in enumerate(actions):
        obs, reward, terminated, _, _ = env.step(int(action))
        assert reward == 1.0
        observations.append(obs)
        if terminated:
            end = t
            break
    return np.array(observations), end


def test_two_hundred_steps_match_gymnasium_from_the_same_states_with_the_same_actions():
    rng = np.random.default_rng(0)
    count = 16
    starts = rng.uniform(-0.05, 0.05, size=(count, 4))
    # A balancing policy with noise keeps some poles up for all 200 steps; others fall early.
    env = cartpole.CartPole(count, seed=1, max_episode_steps=10_000)
    env.set_state(starts)
    state = starts.copy()
    actions = np.zeros((200, count), np.int64)
    ours = np.zeros((200, count, 4), np.float32)
    ended = np.full(count, -1)
    for t in range(200):
        balance = (state[:, 2] + 0.5 * state[:, 3] > 0).astype(np.int64)
        actions[t] = np.where(rng.uniform(size=count) < 0.2, 1 - balance, balance)
        step = env.step(tf.constant(actions[t]))
        ours[t] = step.final_observation.numpy()
        for i in np.flatnonzero(step.terminated.numpy() & (ended < 0)):
            ended[i] = t
        state = env.state.numpy()
    assert (ended < 0).any() and (ended >= 0).any()  # both kinds of episode are compared
    for i in range(count):
        theirs, end = _gymnasium_rollout(starts[i], actions[:, i])
        assert end == (None if ended[i] < 0 else ended[i])
        length = len(theirs)
        np.testing.assert_allclose(ours[:length, i], theirs, atol=1e-5, rtol=0)


def test_episodes_end_at_the_time_limit_and_restart_in_the_same_step():
    env = cartpole.CartPole(2, seed=0, max_episode_steps=3)
    env.reset()
    env.step(tf.constant([0, 1]))
    env.step(tf.constant([1, 0]))
    before = env.state.numpy()
    last = env.step(tf.constant([0, 1]))
    assert last.truncated.numpy().tolist() == [True, True] and not last.terminated.numpy().any()
    np.testing.assert_array_equal(env.elapsed.numpy(), [0, 0])
    # The new episodes start within the reset bounds; the final observation is the old episode's.
    assert np.all(np.abs(last.observation.numpy()) <= cartpole.RESET_BOUND)
    expected, _ = cartpole.dynamics(before, tf.constant([0, 1]))
    np.testing.assert_allclose(last.final_observation.numpy(), expected.numpy().astype(np.float32))


def test_a_falling_pole_terminates_is_reset_and_is_not_truncated():
    env = cartpole.CartPole(1, seed=0)
    env.set_state([[0.0, 0.0, cartpole.THETA_LIMIT - 1e-4, 1.0]])
    step = env.step(tf.constant([0]))
    assert step.terminated.numpy().tolist() == [True] and step.truncated.numpy().tolist() == [False]
    assert step.final_observation.numpy()[0, 2] > cartpole.THETA_LIMIT
    assert abs(step.observation.numpy()[0, 2]) <= cartpole.RESET_BOUND


def test_a_compiled_rollout_equals_the_eager_one_and_a_checkpoint_restores_the_state(tmp_path):
    def rollout(env, steps):
        total = tf.zeros((env.num_envs,))
        for _ in tf.range(steps):
            step = env.step(tf.cast(env.observe()[:, 2] > 0, tf.int32))
            total += step.reward * tf.cast(~(step.terminated | step.truncated), tf.float32)
        return total

    eager, compiled = cartpole.CartPole(8, seed=3), cartpole.CartPole(8, seed=3)
    eager.reset(), compiled.reset()
    checkpoint = tf.train.Checkpoint(env=compiled)
    path = checkpoint.write(str(tmp_path / "env"))
    first = tf.function(rollout)(compiled, 50).numpy()
    np.testing.assert_array_equal(rollout(eager, 50).numpy(), first)
    checkpoint.read(path).assert_consumed()  # state, step counts and the reset generator come back
    np.testing.assert_array_equal(tf.function(rollout)(compiled, 50).numpy(), first)


def test_seeds_reproduce_resets_and_differ_between_seeds():
    a, b, c = cartpole.CartPole(4, seed=7), cartpole.CartPole(4, seed=7), cartpole.CartPole(4, seed=8)
    np.testing.assert_array_equal(a.reset().numpy(), b.reset().numpy())
    assert not np.allclose(a.reset().numpy(), c.reset().numpy())


def test_gymnasium_environments_behind_the_same_interface_reset_in_the_same_step():
    envs = environments.make("cartpole", 3, seed=5)
    first = envs.reset().numpy()
    again = environments.make("cartpole", 3, seed=5).reset().numpy()
    np.testing.assert_array_equal(first, again)
    ends = 0
    for _ in range(60):  # always pushing right: every pole falls within 60 steps
        step = envs.step(tf.ones(3, tf.int32))
        ends += int(step.terminated.numpy().sum())
        done = step.terminated.numpy()
        if done.any():
            assert np.all(np.abs(step.observation.numpy()[done]) <= cartpole.RESET_BOUND)
            assert np.all(np.abs(step.final_observation.numpy()[done][:, [0, 2]]).max(1) > 0.2)
    assert ends >= 3
    graph_step = tf.function(lambda a: envs.step(a).reward)
    assert graph_step(tf.zeros(3, tf.int32)).numpy().tolist() == [1.0, 1.0, 1.0]


def test_unknown_environment_names_are_one_clear_error():
    with pytest.raises(ConfigError, match="env must be one of cartpole, cartpole-tf, pong, received 'cartpol'"):
        environments.make("cartpol", 1)
    with pytest.raises(ValueError, match="num_envs"):
        cartpole.CartPole(0)
