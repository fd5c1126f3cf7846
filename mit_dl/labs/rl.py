"""Checkers for the lecture 6 lab (deep reinforcement learning): discounted returns, Q-learning, policy gradient.

Each runs the learner's function on fixed inputs, compares it with the
formula (and `mit_dl.rl`'s implementation) and names the typical mistake
when it differs: discounting forwards, forgetting to normalise, no terminal
mask, a gradient through the target network, the wrong sign of the
policy-gradient loss.
"""

import numpy as np
import tensorflow as tf

from mit_dl.labs.grading import Mistake, call_learner, checker, explain_mismatch, values

__all__ = ["check_discount_rewards", "check_q_learning_loss", "check_policy_gradient_loss"]

_REWARDS = np.array([0.0, 1.0, 0.0, 0.0, 2.0, 1.0], np.float32)
_GAMMA = 0.9


def _discounted(rewards, gamma):
    out, running = np.zeros(len(rewards)), 0.0
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running
        out[t] = running
    return out


def _normalised(x):
    return (x - x.mean()) / (x.std() + 1e-8)


@checker
def check_discount_rewards(discount_rewards):
    """discount_rewards(rewards, gamma): R_t = r_t + gamma R_{t+1}, computed backwards, then normalised.

    Args:
        discount_rewards: the learner's function, called on one fixed episode with ``gamma = 0.9``.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    received = values(
        call_learner("discount_rewards(rewards, gamma=0.9)", discount_rewards, _REWARDS.copy(), _GAMMA),
        "discount_rewards(...)",
    ).reshape(-1)
    r = _REWARDS.astype(np.float64)
    backwards = _discounted(r, _GAMMA)
    forwards = np.zeros(len(r))
    running = 0.0
    for t in range(len(r)):
        running = r[t] + _GAMMA * running
        forwards[t] = running
    explain_mismatch(
        received,
        _normalised(backwards),
        "the normalised discounted returns of one episode (gamma = 0.9)",
        [
            (backwards, "the returns are not normalised: subtract their mean and divide by their standard deviation."),
            (
                _normalised(forwards),
                "the sum runs forwards (R_t = r_t + gamma R_{t-1}): an action is then credited with the rewards "
                "before it. Loop from the last step back to the first.",
            ),
            (
                _normalised(np.cumsum(r[::-1])[::-1]),
                "gamma is missing: each later reward is multiplied by one more factor gamma.",
            ),
            (
                _normalised(_discounted(r, _GAMMA)[::-1]),
                "the returns come out in reverse order: write R_t at index t.",
            ),
            (
                _normalised(np.append(_discounted(r, _GAMMA)[1:] * _GAMMA, 0.0)),
                "R_t leaves out r_t itself: R_t = r_t + gamma R_{t+1}.",
            ),
            (
                _normalised(backwards - backwards.mean()),
                "the returns are centred but not divided by their standard deviation.",
            ),
        ],
    )


_Q = np.array([[1.0, 2.0], [0.5, -1.0], [3.0, 0.0]], np.float32)
_NEXT_Q = np.array([[4.0, 1.0], [2.0, 5.0], [7.0, 6.0]], np.float32)
_ACTIONS = np.array([1, 0, 1], np.int32)
_Q_REWARDS = np.array([1.0, 0.0, -1.0], np.float32)
_TERMINALS = np.array([0.0, 0.0, 1.0], np.float32)


def _q_loss(q, next_q, actions, rewards, terminals, gamma, mask=True, reduce=np.max):
    target = rewards + gamma * (1 - terminals if mask else 1) * reduce(next_q, axis=1)
    taken = q[np.arange(len(q)), actions]
    return np.mean((target - taken) ** 2)


@checker
def check_q_learning_loss(q_learning_loss):
    """q_learning_loss(q_values, next_q_values, actions, rewards, terminals, gamma): mean (y - Q(s, a))^2.

    ``y = r + gamma (1 - terminal) max_a' Q_target(s', a')`` with ``next_q_values``
    from the target network, and no gradient through ``y``.

    Args:
        q_learning_loss: the learner's function, called on a fixed batch of three transitions.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    q, next_q = tf.Variable(_Q), tf.Variable(_NEXT_Q)
    with tf.GradientTape(persistent=True) as tape:
        loss = call_learner(
            "q_learning_loss(q_values, next_q_values, actions, rewards, terminals, gamma=0.9)",
            q_learning_loss,
            q.value(),
            next_q.value(),
            tf.constant(_ACTIONS),
            tf.constant(_Q_REWARDS),
            tf.constant(_TERMINALS),
            _GAMMA,
        )
        loss = tf.convert_to_tensor(loss)
    received = values(loss, "q_learning_loss(...)").reshape(-1)
    args = (_Q.astype(np.float64), _NEXT_Q.astype(np.float64), _ACTIONS, _Q_REWARDS, _TERMINALS, _GAMMA)
    expected = _q_loss(*args)
    if received.size != 1:
        raise Mistake(f"expected one number, the mean over the batch; received shape {received.shape}.")
    q_all = np.mean(
        (_Q_REWARDS[:, None] + _GAMMA * (1 - _TERMINALS[:, None]) * _NEXT_Q.max(1, keepdims=True) - _Q) ** 2
    )
    explain_mismatch(
        received,
        np.array([expected]),
        "the Q-learning loss of three transitions (the third ends its episode)",
        [
            (
                np.array([_q_loss(*args, mask=False)]),
                "the terminal mask is missing: after a terminal state there is no future, y = r there "
                "(multiply gamma max Q(s', a') by 1 - terminal).",
            ),
            (
                np.array([_q_loss(*args, reduce=np.mean)]),
                "the target averages Q(s', a') over actions: Q-learning takes the best action, max over a'.",
            ),
            (
                np.array([_q_loss(*args, reduce=np.min)]),
                "the target takes the worst next action: use max over a'.",
            ),
            (np.array([q_all]), "every action's Q(s, .) is regressed: only the action taken, Q(s, a), has a target."),
            (np.array([_q_loss(*args[:-1], 1.0)]), "gamma is missing from the target."),
            (
                np.array(
                    [
                        np.mean(
                            np.abs(_Q_REWARDS + _GAMMA * (1 - _TERMINALS) * _NEXT_Q.max(1) - _Q[np.arange(3), _ACTIONS])
                        )
                    ]
                ),
                "this is the mean absolute error; the lecture's loss is the mean squared error.",
            ),
        ],
    )
    through_target = tape.gradient(loss, next_q)
    if through_target is not None and np.abs(through_target.numpy()).max() > 0:
        raise Mistake(
            "the gradient flows into the target y (into next_q_values): wrap the target in tf.stop_gradient. "
            "The target network only supplies numbers to regress onto; training it with this loss chases a "
            "moving target."
        )
    through_q = tape.gradient(loss, q)
    if through_q is None or not np.abs(through_q.numpy()).max() > 0:
        raise Mistake("no gradient reaches q_values: compute the loss from the tensor given, not from NumPy copies.")


_LOGITS = np.array([[0.2, -0.4, 1.0], [1.5, 0.0, -1.0], [0.0, 0.3, 0.1], [-0.5, 0.5, 2.0]], np.float32)
_PG_ACTIONS = np.array([2, 0, 1, 0], np.int32)
_PG_RETURNS = np.array([1.0, -0.5, 0.25, -1.5], np.float32)


def _log_softmax(logits):
    shifted = logits - logits.max(1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(1, keepdims=True))


@checker
def check_policy_gradient_loss(policy_gradient_loss):
    """policy_gradient_loss(logits, actions, returns) = mean over steps of -log pi(a_t | s_t) R_t.

    Args:
        policy_gradient_loss: the learner's function, called on four fixed steps.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    received = values(
        call_learner(
            "policy_gradient_loss(logits, actions, returns)",
            policy_gradient_loss,
            tf.constant(_LOGITS),
            tf.constant(_PG_ACTIONS),
            tf.constant(_PG_RETURNS),
        ),
        "policy_gradient_loss(...)",
    ).reshape(-1)
    if received.size != 1:
        raise Mistake(f"expected one number, the mean over the steps; received shape {received.shape}.")
    logp = _log_softmax(_LOGITS.astype(np.float64))
    taken = logp[np.arange(4), _PG_ACTIONS]
    probabilities = np.exp(logp)
    expected = np.mean(-taken * _PG_RETURNS)
    explain_mismatch(
        received,
        np.array([expected]),
        "the policy-gradient loss of four steps",
        [
            (
                np.array([-expected]),
                "the sign is flipped: minimise -log pi(a|s) R, so gradient descent makes actions followed by "
                "high returns more likely.",
            ),
            (np.array([np.sum(-taken * _PG_RETURNS)]), "the loss is summed over the steps: take their mean."),
            (
                np.array([np.mean(-probabilities[np.arange(4), _PG_ACTIONS] * _PG_RETURNS)]),
                "the probability is used where its logarithm belongs: -log pi(a|s) R.",
            ),
            (
                np.array([np.mean(-_LOGITS[np.arange(4), _PG_ACTIONS] * _PG_RETURNS)]),
                "the logits were used as log-probabilities: apply log_softmax (or sparse cross-entropy from logits).",
            ),
            (
                np.array([np.mean(-logp[np.arange(4), _LOGITS.argmax(1)] * _PG_RETURNS)]),
                "the log-probability is the greedy action's: take the action that was actually played.",
            ),
            (np.array([np.mean(-taken)]), "the returns are missing: weight each step's -log pi(a|s) by its return."),
        ],
    )
