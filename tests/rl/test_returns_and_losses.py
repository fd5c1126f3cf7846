"""Discounted returns against NumPy, the Q target on a hand-worked batch, the policy gradient's sign."""

import numpy as np
import pytest
import tensorflow as tf

from mit_dl.errors import ConfigError
from mit_dl.rl import losses, returns


def _numpy_returns(rewards, dones, gamma, bootstrap):
    out = np.zeros_like(rewards)
    running = bootstrap.copy()
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * (1 - dones[t]) * running
        out[t] = running
    return out


def test_batched_returns_restart_at_episode_ends_and_bootstrap_the_last_step():
    rng = np.random.default_rng(0)
    rewards = rng.normal(size=(30, 5)).astype(np.float32)
    dones = rng.uniform(size=(30, 5)) < 0.15
    bootstrap = rng.normal(size=5).astype(np.float32)
    for gamma in (0.0, 0.9, 1.0):
        got = returns.discounted_returns(rewards, dones, gamma, bootstrap).numpy()
        np.testing.assert_allclose(got, _numpy_returns(rewards, dones, gamma, bootstrap), rtol=1e-5, atol=1e-5)
    no_bootstrap = returns.discounted_returns(rewards, dones, 0.9).numpy()
    np.testing.assert_allclose(no_bootstrap, _numpy_returns(rewards, dones, 0.9, np.zeros(5)), rtol=1e-5, atol=1e-5)


def test_one_episode_returns_match_the_batched_form_and_weight_later_rewards_less():
    rewards = np.array([0.0, 0.0, 1.0, 0.0, 2.0], np.float32)
    single = returns.discount_rewards(rewards, gamma=0.9)
    batched = returns.discounted_returns(rewards[:, None], np.zeros((5, 1), bool), 0.9).numpy()[:, 0]
    np.testing.assert_allclose(single, batched, rtol=1e-6)
    np.testing.assert_allclose(single[0], 0.9**2 * 1 + 0.9**4 * 2, rtol=1e-6)
    # Discounting the wrong way (forwards) would give the first step nothing.
    assert single[0] > 0 and single[-1] == 2.0


def test_episode_returns_stop_at_each_episode_end_and_on_pong_at_each_point():
    # Two environments side by side: the first's episode ends after 3 steps and waits, masked.
    rewards = np.array([[0.0, 0.0], [0.0, -1.0], [1.0, 0.0], [5.0, 0.0], [0.0, 1.0]], np.float32)
    alive = np.array([[1, 1], [1, 1], [1, 1], [0, 1], [0, 1]], bool)
    got = returns.episode_returns(rewards, alive, 0.5).numpy()
    np.testing.assert_allclose(got[:, 0], [0.25, 0.5, 1.0, 0.0, 0.0])  # the 5 after the end is not counted
    np.testing.assert_allclose(got[:, 1], [-0.5 + 0.0625, -1.0 + 0.125, 0.25, 0.5, 1.0])
    per_point = returns.episode_returns(rewards, alive, 0.5, restart_at_rewards=True).numpy()
    np.testing.assert_allclose(per_point[:, 1], [-0.5, -1.0, 0.25, 0.5, 1.0])  # the lost point is its own game
    np.testing.assert_allclose(per_point[:, 0], got[:, 0])


def test_normalised_returns_have_zero_mean_and_unit_spread_over_the_kept_steps():
    values = tf.constant([[1.0, 5.0], [2.0, 7.0], [3.0, 100.0]])
    mask = tf.constant([[1.0, 1.0], [1.0, 1.0], [1.0, 0.0]])
    out = returns.normalise(values, mask).numpy()
    kept = out[mask.numpy() == 1]
    assert abs(kept.mean()) < 1e-6 and abs(kept.std() - 1) < 1e-5 and out[2, 1] == 0.0


@pytest.mark.parametrize("gamma", [-0.1, 1.5, "0.9", True])
def test_a_discount_outside_zero_one_is_one_clear_error(gamma):
    with pytest.raises(ConfigError, match=r"gamma must be a number in \[0, 1\]"):
        returns.discount_rewards([1.0], gamma)


def test_q_targets_on_a_hand_worked_batch_mask_terminals_and_follow_double_dqn():
    rewards = tf.constant([1.0, 0.0, 2.0])
    terminals = tf.constant([0.0, 0.0, 1.0])
    next_target = tf.constant([[1.0, 4.0], [2.0, 0.5], [9.0, 9.0]])
    next_online = tf.constant([[3.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    # y = r + 0.9 (1 - terminal) max_a' Q_target(s', a'): 1 + 0.9 * 4, 0 + 0.9 * 2, 2 (terminal).
    np.testing.assert_allclose(losses.q_learning_targets(rewards, terminals, next_target, 0.9), [4.6, 1.8, 2.0])
    # Double DQN: the online net picks a' (0, 1, 1), the target net values it: 1 + 0.9, 0 + 0.45, 2.
    np.testing.assert_allclose(
        losses.q_learning_targets(rewards, terminals, next_target, 0.9, next_online), [1.9, 0.45, 2.0], rtol=1e-6
    )


def test_no_gradient_flows_into_the_target_and_the_loss_is_huber_of_the_taken_action():
    q = tf.Variable([[1.0, 3.0], [0.0, -2.0]])  # the same network values s and s' here
    with tf.GradientTape() as tape:
        targets = losses.q_learning_targets(tf.zeros(2), tf.zeros(2), q, 0.5)  # y = 0.5 max_a' q = (1.5, 0)
        loss = tf.reduce_sum(losses.dqn_loss(q, tf.constant([0, 1]), targets))
    # Errors 1 - 1.5 = -0.5 (quadratic zone) and -2 - 0 = -2 (linear zone, slope -1). With the target
    # stopped only the taken entries get a gradient; through the target, q[0, 1] and q[1, 0] would too.
    np.testing.assert_allclose(tape.gradient(loss, q).numpy(), [[-0.5, 0.0], [0.0, -1.0]])
    error = np.array([-3.0, -0.5, 0.0, 0.4, 2.5], np.float32)
    expected = np.where(np.abs(error) <= 1, 0.5 * error**2, np.abs(error) - 0.5)
    np.testing.assert_allclose(losses.huber(tf.constant(error)).numpy(), expected, rtol=1e-6)


def test_policy_gradient_descent_makes_the_rewarded_arm_of_a_bandit_more_likely():
    logits = tf.Variable([[0.0, 0.0]])
    for _ in range(20):
        with tf.GradientTape() as tape:
            # Arm 1 pays +1, arm 0 pays -1; both are tried each step (normalised returns).
            loss = tf.reduce_mean(losses.policy_gradient_loss(tf.tile(logits, [2, 1]), [0, 1], [-1.0, 1.0]))
        gradient = tape.gradient(loss, logits)
        assert gradient.numpy()[0, 1] < 0 < gradient.numpy()[0, 0]  # descent raises arm 1's logit
        logits.assign_sub(0.5 * gradient)
    assert tf.nn.softmax(logits).numpy()[0, 1] > 0.95


def test_actor_critic_terms_against_their_formulas():
    logits = tf.constant([[0.0, np.log(3.0)]])  # pi = (0.25, 0.75)
    actor, critic, entropy = losses.actor_critic_losses(
        logits, tf.constant([0.5]), tf.constant([1]), tf.constant([2.0])
    )
    np.testing.assert_allclose(actor.numpy(), [-np.log(0.75) * 1.5], rtol=1e-6)
    np.testing.assert_allclose(critic.numpy(), [0.5 * 1.5**2], rtol=1e-6)
    np.testing.assert_allclose(entropy.numpy(), [-(0.25 * np.log(0.25) + 0.75 * np.log(0.75))], rtol=1e-6)


def test_a_resume_compares_only_the_fields_the_agent_reads():
    from mit_dl.rl.config import AGENT_FIELDS, RLConfig
    from mit_dl.training.runs import compared_settings

    reinforce = RLConfig(agent="reinforce")
    # An a2c-only or dqn-only default changing does not stop a REINFORCE run from resuming ...
    assert compared_settings(reinforce) == compared_settings(reinforce.replace(rollout_steps=7, batch_size=32))
    # ... while its own fields, and the shared ones, are compared.
    assert compared_settings(reinforce) != compared_settings(reinforce.replace(value_baseline=True))
    assert compared_settings(reinforce) != compared_settings(reinforce.replace(gamma=0.9))
    dqn = RLConfig(agent="dqn")
    assert set(dqn.unused_fields()) == set(AGENT_FIELDS["reinforce"]) | set(AGENT_FIELDS["a2c"])
    assert compared_settings(dqn) != compared_settings(dqn.replace(batch_size=32))
