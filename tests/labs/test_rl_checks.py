"""Lecture 6 lab checkers: each accepts the reference answer and rejects typical mistakes with the right explanation."""

import numpy as np
import tensorflow as tf
from support import failed, todo

from mit_dl.labs import rl as checks
from mit_dl.rl import losses, returns


def test_discount_rewards():
    assert checks.check_discount_rewards(lambda r, gamma: returns.discount_rewards(r, gamma, normalise=True))

    def forwards(rewards, gamma):
        out, running = np.zeros(len(rewards)), 0.0
        for t in range(len(rewards)):
            running = rewards[t] + gamma * running
            out[t] = running
        return (out - out.mean()) / out.std()

    failed(checks.check_discount_rewards(lambda r, gamma: returns.discount_rewards(r, gamma)), "not normalised")
    failed(checks.check_discount_rewards(forwards), "runs forwards")
    failed(
        checks.check_discount_rewards(lambda r, gamma: returns.discount_rewards(r, 1.0, normalise=True)),
        "gamma is missing",
    )
    failed(
        checks.check_discount_rewards(lambda r, gamma: returns.discount_rewards(r, gamma, normalise=True)[::-1]),
        "reverse order",
    )
    failed(checks.check_discount_rewards(todo), "not implemented yet")


def _reference_q_loss(q, next_q, actions, rewards, terminals, gamma):
    targets = losses.q_learning_targets(rewards, terminals, next_q, gamma)
    taken = tf.gather(q, actions, batch_dims=1)
    return tf.reduce_mean(tf.square(targets - taken))


def test_q_learning_loss():
    assert checks.check_q_learning_loss(_reference_q_loss)

    def variant(mask=True, stop=True, reduce=tf.reduce_max):
        def loss(q, next_q, actions, rewards, terminals, gamma):
            alive = 1.0 - terminals if mask else 1.0
            target = rewards + gamma * alive * reduce(next_q, axis=1)
            target = tf.stop_gradient(target) if stop else target
            return tf.reduce_mean(tf.square(target - tf.gather(q, actions, batch_dims=1)))

        return loss

    failed(checks.check_q_learning_loss(variant(mask=False)), "terminal mask is missing")
    failed(checks.check_q_learning_loss(variant(stop=False)), "gradient flows into the target")
    failed(checks.check_q_learning_loss(variant(reduce=tf.reduce_mean)), "max over a'")
    failed(
        checks.check_q_learning_loss(
            lambda q, nq, a, r, t, g: tf.reduce_mean(
                tf.square(tf.stop_gradient(r + g * (1 - t) * tf.reduce_max(nq, 1))[:, None] - q)
            )
        ),
        "only the action taken",
    )
    failed(
        checks.check_q_learning_loss(lambda q, nq, a, r, t, g: _reference_q_loss(q, nq, a, r, t, g)[None] * [1.0, 1.0]),
        "expected one number",
    )
    failed(checks.check_q_learning_loss(todo), "not implemented yet")


def test_policy_gradient_loss():
    def reference(logits, actions, returns_):
        return tf.reduce_mean(losses.policy_gradient_loss(logits, actions, returns_))

    assert checks.check_policy_gradient_loss(reference)
    failed(checks.check_policy_gradient_loss(lambda lg, a, r: -reference(lg, a, r)), "sign is flipped")
    failed(
        checks.check_policy_gradient_loss(lambda lg, a, r: tf.reduce_sum(losses.policy_gradient_loss(lg, a, r))),
        "summed over the steps",
    )
    failed(
        checks.check_policy_gradient_loss(
            lambda lg, a, r: tf.reduce_mean(-tf.gather(tf.nn.softmax(lg), a, batch_dims=1) * r)
        ),
        "the probability is used",
    )
    failed(
        checks.check_policy_gradient_loss(lambda lg, a, r: tf.reduce_mean(-tf.gather(lg, a, batch_dims=1) * r)),
        "log_softmax",
    )
    failed(checks.check_policy_gradient_loss(todo), "not implemented yet")
