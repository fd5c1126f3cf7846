"""Advantage actor-critic (A2C, Mnih et al. 2016): n-step returns on batched environments, an entropy bonus.

One iteration (`ActorCriticAgent.train_step`): each of the ``N``
environments takes ``rollout_steps`` steps with actions sampled from the
actor (episodes that end restart at once); the n-step return of each step is

    R_t = r_t + gamma r_{t+1} + ... + gamma^k V(s_{t+k})

bootstrapped from the critic after the last step, restarted where an episode
terminated, and bootstrapped from ``V`` of the last state where the time
limit cut an episode (a truncated episode is not over: its last state still
has a value). One gradient step minimises the mean over the ``n x N`` steps of

    -log pi(a|s) (R - V(s))  +  value_weight (R - V(s))^2 / 2  -  entropy_weight H(pi(.|s))

(`mit_dl.rl.losses.actor_critic_losses`); actor and critic share a trunk.
"""

import tensorflow as tf

from mit_dl.rl import losses, networks, returns
from mit_dl.rl.agent import Agent, sample_actions


class ActorCriticAgent(Agent):
    """A synchronous advantage actor-critic agent.

    Args:
        env: the environments (batched; 8-16 is typical).
        gamma: the discount factor.
        hidden: the trunk's layer widths (vector observations).
        rollout_steps: steps per environment per update (the ``n`` of n-step returns).
        value_weight: the critic loss's weight.
        entropy_weight: the entropy bonus's weight.
        seed: seed of the sampled actions.

    Examples:
        >>> import keras
        >>> from mit_dl.rl.cartpole import CartPole
        >>> agent = ActorCriticAgent(CartPole(4), rollout_steps=5)
        >>> agent.compile(optimizer=keras.optimizers.Adam(1e-3))
        >>> logs = agent.train_step(None)
        >>> sorted(logs), int(logs["env_steps"])
        (['actor_loss', 'critic_loss', 'entropy', 'env_steps', 'episodes', 'loss', 'return_100'], 20)
    """

    def __init__(
        self,
        env,
        gamma=0.99,
        hidden=(64, 64),
        rollout_steps=8,
        value_weight=0.5,
        entropy_weight=0.01,
        seed=0,
        **kwargs,
    ):
        super().__init__(env, gamma=gamma, seed=seed, **kwargs)
        self.network = networks.actor_critic_network(self.observation_shape, self.action_count, hidden)
        self.rollout_steps = int(rollout_steps)
        self.value_weight = float(value_weight)
        self.entropy_weight = float(entropy_weight)
        self.observation()

    @property
    def acting_network(self):
        """The actor-critic network (its logits head acts)."""
        return self.network

    def greedy_actions(self, observations):
        """The most probable action of each row.

        Args:
            observations: ``[N, *observation_shape]``.

        Returns:
            ``[N]`` int32 actions.
        """
        logits, _ = self.network(observations)
        return tf.argmax(logits, axis=-1, output_type=tf.int32)

    def rollout(self):
        """``rollout_steps`` steps of every environment.

        Returns:
            ``(observations, actions, rewards, terminated, truncated, final_observations)``, each ``[T, N, ...]``.
        """
        observation = self.observation()
        shape = (self.num_envs, *self.observation_shape)
        seen = tf.TensorArray(tf.float32, self.rollout_steps, element_shape=shape)
        finals = tf.TensorArray(tf.float32, self.rollout_steps, element_shape=shape)
        taken = tf.TensorArray(tf.int32, self.rollout_steps, element_shape=(self.num_envs,))
        rewards = tf.TensorArray(tf.float32, self.rollout_steps, element_shape=(self.num_envs,))
        terminated = tf.TensorArray(tf.bool, self.rollout_steps, element_shape=(self.num_envs,))
        truncated = tf.TensorArray(tf.bool, self.rollout_steps, element_shape=(self.num_envs,))
        for t in tf.range(self.rollout_steps):
            obs = observation.value()
            logits, _ = self.network(obs)
            actions = sample_actions(logits, self._generator)
            step = self.env.step(actions)
            self.tracker.update(step.reward, step.terminated | step.truncated)
            seen = seen.write(t, obs)
            finals = finals.write(t, step.final_observation)
            taken = taken.write(t, actions)
            rewards = rewards.write(t, step.reward)
            terminated = terminated.write(t, step.terminated)
            truncated = truncated.write(t, step.truncated)
            observation.assign(step.observation)
        return tuple(a.stack() for a in (seen, taken, rewards, terminated, truncated, finals))

    def train_step(self, data):
        observations, actions, rewards, terminated, truncated, finals = self.rollout()
        flat = (-1, *self.observation_shape)
        # Values of the states the time limit cut, and of the states after the last step.
        _, final_values = self.network(tf.reshape(finals, flat))
        final_values = tf.reshape(tf.cast(final_values, tf.float32), tf.shape(rewards))
        _, bootstrap = self.network(self.observation().value())
        bootstrap = tf.cast(bootstrap, tf.float32)
        rewards = rewards + self.gamma * tf.cast(truncated, tf.float32) * tf.stop_gradient(final_values)
        targets = returns.discounted_returns(rewards, terminated | truncated, self.gamma, tf.stop_gradient(bootstrap))
        variables = self.network.trainable_variables
        with tf.GradientTape() as tape:
            logits, values = self.network(tf.reshape(observations, flat))
            actor, critic, entropy = losses.actor_critic_losses(
                logits, values, tf.reshape(actions, (-1,)), tf.reshape(targets, (-1,))
            )
            actor, critic, entropy = tf.reduce_mean(actor), tf.reduce_mean(critic), tf.reduce_mean(entropy)
            loss = actor + self.value_weight * critic - self.entropy_weight * entropy
            scaled = self.optimizer.scale_loss(loss)  # mixed_float16: loss scaling, recorded on the tape
        self.optimizer.apply(tape.gradient(scaled, variables), variables)
        return {
            "loss": loss,
            "actor_loss": actor,
            "critic_loss": critic,
            "entropy": entropy,
            **self.tracker.logs(),
        }
