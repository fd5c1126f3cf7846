"""The losses of lecture 6: the deep Q-network's target and Huber loss, the policy gradient, actor-critic.

- Q-learning (DQN, Mnih et al. 2015). The network ``Q(s, a)`` regresses onto

      y = r + gamma (1 - terminal) max_a' Q_target(s', a'),

  where ``Q_target`` is a periodically refreshed copy (the *target
  network*): regressing onto the network being trained chases a moving
  target. ``y`` is a constant of the update (no gradient flows into it), and
  ``(1 - terminal)`` drops the future after a terminal state; a state cut by
  the time limit is not terminal and keeps its value. Double DQN (van Hasselt
  et al. 2016) picks ``a'`` with the online network and values it with the
  target network, which curbs the max's over-estimation. The loss is the
  Huber loss of ``Q(s, a) - y`` (quadratic within 1, linear beyond).
- Policy gradient (REINFORCE, Williams 1992): minimise
  ``-log pi(a_t | s_t) R_t`` summed over the steps taken, the lecture's
  ``loss = -log P(a|s) R``; its gradient raises the log-probability of
  actions followed by high returns. The sign matters: without the minus,
  gradient descent makes the good actions rarer.
- Advantage actor-critic (A2C, Mnih et al. 2016): the actor's loss weights
  ``-log pi(a|s)`` by the advantage ``A = R - V(s)`` (a constant of the actor's
  update), the critic regresses ``V(s)`` onto ``R``, and an entropy bonus keeps
  the policy from collapsing onto one action too early.

Each function returns one value per example; the agents average them.
"""

import tensorflow as tf


def q_learning_targets(rewards, terminals, next_q_target, gamma, next_q_online=None):
    """``y = r + gamma (1 - terminal) Q_target(s', a')``; ``a'`` the target's argmax (Double DQN: the online net's).

    Args:
        rewards: ``[B]``.
        terminals: ``[B]`` 1 (or True) where ``s'`` is terminal.
        next_q_target: ``[B, A]`` the target network's ``Q(s', .)``.
        gamma: the discount factor.
        next_q_online: ``[B, A]`` the online network's ``Q(s', .)`` (Double DQN), or None.

    Returns:
        ``[B]`` targets, with gradients stopped.

    Examples:
        >>> q_next = tf.constant([[1.0, 3.0], [1.0, 3.0]])
        >>> q_learning_targets(tf.constant([1.0, 1.0]), tf.constant([0.0, 1.0]), q_next, 0.5).numpy().tolist()
        [2.5, 1.0]
    """
    next_q_target = tf.cast(next_q_target, tf.float32)
    if next_q_online is None:
        future = tf.reduce_max(next_q_target, axis=-1)
    else:
        best = tf.argmax(next_q_online, axis=-1, output_type=tf.int32)
        future = tf.gather(next_q_target, best, batch_dims=1)
    alive = 1.0 - tf.cast(terminals, tf.float32)
    return tf.stop_gradient(tf.cast(rewards, tf.float32) + gamma * alive * future)


def huber(error, delta=1.0):
    """The Huber loss: ``e^2 / 2`` within ``delta``, ``delta (|e| - delta / 2)`` beyond.

    Args:
        error: any shape.
        delta: the threshold.

    Returns:
        The loss, shaped like ``error``.
    """
    absolute = tf.abs(error)
    quadratic = tf.minimum(absolute, delta)
    return 0.5 * tf.square(quadratic) + delta * (absolute - quadratic)


def dqn_loss(q_values, actions, targets, delta=1.0):
    """Per-example Huber loss of ``Q(s, a) - y`` for the actions taken.

    Args:
        q_values: ``[B, A]`` the online network's ``Q(s, .)``.
        actions: ``[B]`` the actions taken.
        targets: ``[B]`` from `q_learning_targets`.
        delta: the Huber threshold.

    Returns:
        ``[B]``.
    """
    taken = tf.gather(tf.cast(q_values, tf.float32), tf.cast(actions, tf.int32), batch_dims=1)
    return huber(taken - targets, delta)


def log_probabilities(logits, actions):
    """``log pi(a | s)`` of the actions taken under the softmax policy.

    Args:
        logits: ``[B, A]``.
        actions: ``[B]``.

    Returns:
        ``[B]``.
    """
    logits = tf.cast(logits, tf.float32)
    return -tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.cast(actions, tf.int32), logits=logits)


def policy_gradient_loss(logits, actions, returns):
    """The lecture's ``-log pi(a|s) R`` per step (returns are constants of the update).

    Args:
        logits: ``[B, A]`` the policy's logits at the states visited.
        actions: ``[B]`` the actions taken.
        returns: ``[B]`` the (normalised) returns that followed them.

    Returns:
        ``[B]``.

    Examples:
        >>> logits = tf.math.log(tf.constant([[0.5, 0.5]]))
        >>> round(float(policy_gradient_loss(logits, tf.constant([0]), tf.constant([2.0]))[0]), 4)
        1.3863
    """
    return -log_probabilities(logits, actions) * tf.stop_gradient(tf.cast(returns, tf.float32))


def entropy(logits):
    """The entropy of the softmax policy, per row, in nats.

    Args:
        logits: ``[B, A]``.

    Returns:
        ``[B]``.
    """
    logits = tf.cast(logits, tf.float32)
    return -tf.reduce_sum(tf.nn.softmax(logits) * tf.nn.log_softmax(logits), axis=-1)


def actor_critic_losses(logits, values, actions, returns):
    """A2C's three terms per step: actor ``-log pi(a|s) A``, critic ``(R - V(s))^2 / 2``, entropy.

    Args:
        logits: ``[B, A]`` the actor's logits.
        values: ``[B]`` the critic's ``V(s)``.
        actions: ``[B]`` the actions taken.
        returns: ``[B]`` the n-step returns ``R``.

    Returns:
        ``(actor [B], critic [B], entropy [B])``; the agent minimises
        ``actor + c_v critic - c_e entropy``.
    """
    values = tf.cast(values, tf.float32)
    returns = tf.cast(returns, tf.float32)
    advantage = tf.stop_gradient(returns - values)
    actor = -log_probabilities(logits, actions) * advantage
    critic = 0.5 * tf.square(returns - values)
    return actor, critic, entropy(logits)
