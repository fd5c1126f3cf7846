"""Returns of lecture 6: discounted sums of rewards, computed backwards, reset where episodes end.

The return from step ``t`` of an episode is

    R_t = r_t + gamma r_{t+1} + gamma^2 r_{t+2} + ... = r_t + gamma R_{t+1},

so one backward pass computes every ``R_t``; at the end of an episode the
sum restarts (``R_t = r_t`` at its last step). The course's
``discount_rewards`` does this for one episode; `discounted_returns` does
it for ``[T, N]`` rollouts of ``N`` environments whose episodes end at
different steps, and optionally bootstraps the last step with a value
estimate (the n-step returns of actor-critic).

A common slip runs the recursion forwards (``R_t = r_t + gamma R_{t-1}``),
which weights each action by the rewards *before* it; another forgets to
restart at an episode's end, crediting an action with the next episode's
rewards.
"""

import numpy as np
import tensorflow as tf

from mit_dl.rl.config import check_discount


def discount_rewards(rewards, gamma=0.95, normalise=False):
    """``R_t`` of one episode's rewards, in NumPy; with ``normalise``, the course's ``discount_rewards``.

    The course's function (its CartPole and Pong agents use gamma 0.95 and
    0.99) returns the discounted returns normalised to zero mean and unit
    standard deviation.

    Args:
        rewards: ``[T]`` the rewards of one episode, in order.
        gamma: the discount factor in [0, 1].
        normalise: subtract the mean and divide by the standard deviation.

    Returns:
        ``[T]`` float32 returns.

    Examples:
        >>> discount_rewards([1.0, 1.0, 1.0], gamma=0.5).tolist()
        [1.75, 1.5, 1.0]
    """
    check_discount(gamma)
    rewards = np.asarray(rewards, np.float64)
    returns = np.zeros_like(rewards)
    running = 0.0
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running
        returns[t] = running
    if normalise:
        returns = (returns - returns.mean()) / (returns.std() + 1e-8)
    return returns.astype(np.float32)


def discounted_returns(rewards, dones, gamma, bootstrap=None):
    """``R_t`` for ``[T, N]`` rollouts, restarting after every step whose ``done`` is set.

    Args:
        rewards: ``[T, N]`` rewards.
        dones: ``[T, N]`` bool: the episode ended at that step (its return is ``r_t``).
        gamma: the discount factor in [0, 1].
        bootstrap: optional ``[N]`` value of the state after the last step
            (added, discounted, where the last step did not end its episode).

    Returns:
        ``[T, N]`` float32 returns (a `tf.Tensor`; runs inside ``tf.function``).

    Examples:
        >>> r = tf.ones((3, 1))
        >>> d = tf.constant([[False], [True], [False]])
        >>> discounted_returns(r, d, 0.5)[:, 0].numpy().tolist()
        [1.5, 1.0, 1.0]
    """
    check_discount(gamma)
    rewards = tf.cast(rewards, tf.float32)
    keep = 1.0 - tf.cast(dones, tf.float32)
    last = tf.zeros_like(rewards[0]) if bootstrap is None else tf.cast(bootstrap, tf.float32)
    # Backwards with tf.scan over the reversed time axis: R_t = r_t + gamma (1 - done_t) R_{t+1}.
    returns = tf.scan(
        lambda running, step: step[0] + gamma * step[1] * running,
        (tf.reverse(rewards, [0]), tf.reverse(keep, [0])),
        initializer=last,
    )
    return tf.reverse(returns, [0])


def episode_returns(rewards, alive, gamma, restart_at_rewards=False):
    """``R_t`` of whole episodes played side by side, each ending at its last ``alive`` step.

    REINFORCE plays one episode per environment; the batch moves together, so
    an environment whose episode ended keeps stepping, masked. Its return
    restarts at the episode's last step and is 0 on the masked steps after
    it. With ``restart_at_rewards`` the sum also restarts after every step
    whose reward is not 0: the course's Pong agent treats each point as a game
    of its own, crediting an action with the point it led to only.

    Args:
        rewards: ``[T, N]`` rewards.
        alive: ``[T, N]`` bool: the step is inside its environment's episode.
        gamma: the discount factor in [0, 1].
        restart_at_rewards: also restart after every non-zero reward.

    Returns:
        ``[T, N]`` float32 returns, 0 where not alive.

    Examples:
        >>> r = tf.constant([[0.0], [-1.0], [0.0], [1.0]])
        >>> alive = tf.ones((4, 1), tf.bool)
        >>> episode_returns(r, alive, 0.5)[:, 0].numpy().tolist()
        [-0.375, -0.75, 0.5, 1.0]
        >>> episode_returns(r, alive, 0.5, restart_at_rewards=True)[:, 0].numpy().tolist()
        [-0.5, -1.0, 0.5, 1.0]
    """
    alive = tf.cast(alive, tf.bool)
    rewards = tf.cast(rewards, tf.float32) * tf.cast(alive, tf.float32)
    last = alive & ~tf.concat([alive[1:], tf.zeros_like(alive[:1])], axis=0)
    ends = last | tf.not_equal(rewards, 0.0) if restart_at_rewards else last
    return discounted_returns(rewards, ends, gamma) * tf.cast(alive, tf.float32)


def normalise(returns, mask=None, epsilon=1e-8):
    """``(R - mean) / std`` over the entries ``mask`` keeps (all when ``None``); masked entries become 0.

    The course normalises an episode batch's returns before the policy-gradient
    loss: a baseline for free (about half the actions are pushed down) and a
    scale that does not grow with the episodes' length.

    Args:
        returns: any shape.
        mask: 1 for the entries to use, 0 for padding; shaped like ``returns``.
        epsilon: added to the standard deviation.

    Returns:
        The normalised returns, 0 where masked.

    Examples:
        >>> tuple(round(v, 4) for v in normalise(tf.constant([1.0, 2.0, 3.0])).numpy().tolist())
        (-1.2247, 0.0, 1.2247)
    """
    returns = tf.cast(returns, tf.float32)
    mask = tf.ones_like(returns) if mask is None else tf.cast(mask, tf.float32)
    count = tf.maximum(tf.reduce_sum(mask), 1.0)
    mean = tf.reduce_sum(returns * mask) / count
    variance = tf.reduce_sum(tf.square(returns - mean) * mask) / count
    return (returns - mean) / (tf.sqrt(variance) + epsilon) * mask
