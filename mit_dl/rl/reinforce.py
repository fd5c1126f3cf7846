"""REINFORCE (Williams 1992), the course's policy-gradient agent: whole episodes, discounted normalised returns.

One iteration (`ReinforceAgent.train_step`) plays one episode in each of
the ``N`` environments with actions sampled from the policy's softmax,
until every episode has ended (or ``max_episode_steps``), computes each
step's return ``R_t`` (`mit_dl.rl.returns.discounted_returns`), normalises
the batch's returns (the course's ``normalize``; a free baseline), and takes
one gradient step on the mean over every step played of

    loss = -log pi(a_t | s_t) R_t                (mit_dl.rl.losses.policy_gradient_loss)

With ``value_baseline`` a value network ``V(s)`` is fitted to the returns
and ``R_t - V(s_t)`` replaces ``R_t`` (REINFORCE with a learned baseline,
Sutton and Barto 13.4).

On Pong (``restart_at_rewards``) the returns also restart after every step
with a reward, as the course's Pong agent computes them
(`mit_dl.rl.returns.episode_returns`).

Only the steps inside episodes count as environment steps: an environment
whose episode ended waits, masked, for the others (it is stepped, since the
batch moves together, but nothing it does is learned from or counted).
"""

import tensorflow as tf

from mit_dl.rl import losses, networks, returns
from mit_dl.rl.agent import Agent, sample_actions


def _mean_policy_gradient_loss(logits, actions, weights):
    return tf.reduce_mean(losses.policy_gradient_loss(logits, actions, weights))


class ReinforceAgent(Agent):
    """A REINFORCE agent over batches of whole episodes.

    Args:
        env: the environments (one episode each per iteration).
        gamma: the discount factor.
        hidden: the policy's layer widths (vector observations).
        max_episode_steps: the longest episode an iteration plays.
        normalise: normalise each batch's returns (the course's recipe).
        value_baseline: subtract a learned ``V(s)`` from the returns.
        restart_at_rewards: restart the returns after every non-zero reward (Pong's points).
        seed: seed of the sampled actions.
        loss_fn: replaces the mean of `mit_dl.rl.losses.policy_gradient_loss`:
            ``fn(logits, actions, returns) -> scalar`` over the steps played (the
            lab notebook passes the learner's). Not saved.

    Examples:
        >>> import keras
        >>> from mit_dl.rl.cartpole import CartPole
        >>> agent = ReinforceAgent(CartPole(4), max_episode_steps=50)
        >>> agent.compile(optimizer=keras.optimizers.Adam(1e-2))
        >>> logs = agent.train_step(None)
        >>> int(logs["episodes"]), float(logs["env_steps"]) <= 200
        (4, True)
    """

    def __init__(
        self,
        env,
        gamma=0.99,
        hidden=(64, 64),
        max_episode_steps=500,
        normalise=True,
        value_baseline=False,
        restart_at_rewards=False,
        seed=0,
        loss_fn=None,
        **kwargs,
    ):
        super().__init__(env, gamma=gamma, seed=seed, **kwargs)
        self.policy = networks.action_network(self.observation_shape, self.action_count, hidden, name="policy")
        self.value = (
            networks.action_network(self.observation_shape, 1, hidden, name="value") if value_baseline else None
        )
        self.max_episode_steps = int(max_episode_steps)
        self.normalise = bool(normalise)
        self.restart_at_rewards = bool(restart_at_rewards)
        self.loss_fn = loss_fn or _mean_policy_gradient_loss
        self.observation()

    @property
    def acting_network(self):
        """The policy network."""
        return self.policy

    def greedy_actions(self, observations):
        """The most probable action of each row.

        Args:
            observations: ``[N, *observation_shape]``.

        Returns:
            ``[N]`` int32 actions.
        """
        return tf.argmax(self.policy(observations), axis=-1, output_type=tf.int32)

    def play_episodes(self):
        """One episode per environment, sampled from the policy.

        Returns:
            ``(observations [T, N, ...], actions [T, N], rewards [T, N], alive [T, N])``; ``alive``
            marks the steps inside each environment's episode.
        """
        self.restart_episodes()
        obs = self.observation().value()
        alive = tf.ones((self.num_envs,), tf.bool)
        shape = (self.num_envs, *self.observation_shape)
        seen = tf.TensorArray(tf.float32, size=0, dynamic_size=True, element_shape=shape)
        taken = tf.TensorArray(tf.int32, size=0, dynamic_size=True, element_shape=(self.num_envs,))
        rewards = tf.TensorArray(tf.float32, size=0, dynamic_size=True, element_shape=(self.num_envs,))
        masks = tf.TensorArray(tf.bool, size=0, dynamic_size=True, element_shape=(self.num_envs,))
        t = tf.constant(0)
        while t < self.max_episode_steps and tf.reduce_any(alive):
            actions = sample_actions(self.policy(obs), self._generator)
            step = self.env.step(actions)
            # The step limit ends every episode still running.
            done = step.terminated | step.truncated | (t == self.max_episode_steps - 1)
            self.tracker.update(step.reward, done, active=alive)
            seen = seen.write(t, obs)
            taken = taken.write(t, actions)
            rewards = rewards.write(t, step.reward)
            masks = masks.write(t, alive)
            alive = alive & ~done
            obs = step.observation
            t += 1
        self.observation().assign(obs)
        return seen.stack(), taken.stack(), rewards.stack(), masks.stack()

    def train_step(self, data):
        observations, actions, rewards, alive = self.play_episodes()
        discounted = returns.episode_returns(rewards, alive, self.gamma, self.restart_at_rewards)
        # Only the steps inside episodes are learned from.
        observations = tf.boolean_mask(observations, alive)
        actions = tf.boolean_mask(actions, alive)
        discounted = tf.boolean_mask(discounted, alive)
        policy_variables = self.policy.trainable_variables
        logs = {}
        with tf.GradientTape(persistent=self.value is not None) as tape:
            weights = discounted
            if self.value is not None:
                baseline = tf.reshape(tf.cast(self.value(observations), tf.float32), (-1,))
                value_loss = tf.reduce_mean(0.5 * tf.square(discounted - baseline))
                weights = discounted - tf.stop_gradient(baseline)
                logs["value_loss"] = value_loss
            if self.normalise:
                weights = returns.normalise(weights)
            loss = self.loss_fn(self.policy(observations), actions, weights)
            scaled = self.optimizer.scale_loss(loss)  # mixed_float16: loss scaling, recorded on the tape
            scaled_value = self.optimizer.scale_loss(value_loss) if self.value is not None else None
        gradients = tape.gradient(scaled, policy_variables)
        variables = policy_variables
        if self.value is not None:
            variables = policy_variables + self.value.trainable_variables
            gradients = gradients + tape.gradient(scaled_value, self.value.trainable_variables)
            del tape
        self.optimizer.apply(gradients, variables)
        return {"loss": loss, **logs, **self.tracker.logs()}
