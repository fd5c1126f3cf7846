"""Deep Q-network (Mnih et al. 2015): epsilon-greedy acting, experience replay, a target network, Huber loss.

One iteration (`DQNAgent.train_step`): every environment takes
``collect_steps`` epsilon-greedy steps (epsilon falls linearly from
``epsilon_start`` to ``epsilon_end`` over ``exploration_steps`` environment
steps), the transitions go into the replay ring, and, once ``learning_starts``
transitions are stored, ``gradient_steps`` gradient steps on replayed batches regress
``Q(s, a)`` onto ``y = r + gamma (1 - terminal) max_a' Q_target(s', a')``
(`mit_dl.rl.losses.q_learning_targets`; Double DQN as an option). The target
network is copied from the online one every ``target_update_every``
updates, or, with ``polyak`` in (0, 1), moved towards it after each update:
``theta_target <- (1 - polyak) theta_target + polyak theta``.
"""

import tensorflow as tf

from mit_dl.rl import losses, networks
from mit_dl.rl.agent import Agent
from mit_dl.rl.replay import ReplayBuffer


class DQNAgent(Agent):
    """A deep Q-network agent.

    Args:
        env: the environments.
        gamma: the discount factor.
        hidden: the Q-network's layer widths (vector observations).
        replay_capacity: transitions the replay ring keeps.
        batch_size: transitions per update.
        learning_starts: transitions stored before the first update.
        collect_steps: steps each environment takes per iteration.
        gradient_steps: updates per iteration (once ``learning_starts`` transitions are stored).
        target_update_every: updates between copies into the target network (``polyak`` 0).
        polyak: 0 for periodic copies, else the soft-update rate.
        epsilon_start: the exploration rate at the first step.
        epsilon_end: the exploration rate after ``exploration_steps``.
        exploration_steps: environment steps over which epsilon falls linearly.
        double: Double DQN targets.
        seed: seed of exploration and replay sampling.
        loss_fn: replaces the Huber loss of `mit_dl.rl.losses.q_learning_targets`:
            ``fn(q_values, next_q_values, actions, rewards, terminals, gamma) -> scalar``
            with ``next_q_values`` from the target network (the lab notebook passes
            the learner's; ``double`` does not apply to it). Not saved.

    Examples:
        >>> import keras
        >>> from mit_dl.rl.cartpole import CartPole
        >>> agent = DQNAgent(CartPole(2), replay_capacity=64, batch_size=8, learning_starts=8)
        >>> agent.compile(optimizer=keras.optimizers.Adam(1e-3))
        >>> sorted(agent.train_step(None))
        ['env_steps', 'episodes', 'epsilon', 'loss', 'return_100']
    """

    def __init__(
        self,
        env,
        gamma=0.99,
        hidden=(64, 64),
        replay_capacity=50_000,
        batch_size=64,
        learning_starts=1_000,
        collect_steps=1,
        gradient_steps=1,
        target_update_every=250,
        polyak=0.0,
        epsilon_start=1.0,
        epsilon_end=0.05,
        exploration_steps=10_000,
        double=False,
        seed=0,
        loss_fn=None,
        **kwargs,
    ):
        super().__init__(env, gamma=gamma, seed=seed, **kwargs)
        if not 0.0 <= polyak < 1.0:
            raise ValueError(f"polyak must be in [0, 1), received {polyak}")
        self.q_network = networks.action_network(self.observation_shape, self.action_count, hidden, name="q")
        self.target_network = networks.action_network(
            self.observation_shape, self.action_count, hidden, name="q_target"
        )
        self.target_network.set_weights(self.q_network.get_weights())
        self.target_network.trainable = False  # moved by copies, never by gradients
        self.replay = ReplayBuffer(replay_capacity, self.observation_shape, batch_size, seed=seed + 1)
        self.learning_starts = int(learning_starts)
        self.collect_steps = int(collect_steps)
        self.gradient_steps = int(gradient_steps)
        self.target_update_every = int(target_update_every)
        self.polyak = float(polyak)
        self.epsilon_start, self.epsilon_end = float(epsilon_start), float(epsilon_end)
        self.exploration_steps = int(exploration_steps)
        self.double = bool(double)
        self.loss_fn = loss_fn
        self.updates = tf.Variable(0, dtype=tf.int64, trainable=False, name="updates")
        self.observation()

    def checkpoint_objects(self):
        """The base agent's trackables, the replay buffer and the update counter.

        Returns:
            ``{name: trackable}``.
        """
        return {**super().checkpoint_objects(), "replay": self.replay, "updates": self.updates}

    def epsilon(self):
        """The exploration rate at the current environment step.

        Returns:
            A float32 scalar tensor, ``epsilon_start`` falling linearly to ``epsilon_end``.
        """
        progress = tf.cast(self.tracker.env_steps, tf.float32) / max(self.exploration_steps, 1)
        value = self.epsilon_start - (self.epsilon_start - self.epsilon_end) * progress
        return tf.maximum(value, self.epsilon_end)

    @property
    def acting_network(self):
        """The online Q-network."""
        return self.q_network

    def greedy_actions(self, observations):
        """The action of highest Q-value for each row.

        Args:
            observations: ``[N, *observation_shape]``.

        Returns:
            ``[N]`` int32 actions.
        """
        return tf.argmax(self.q_network(observations), axis=-1, output_type=tf.int32)

    def _explore(self):
        observation = self.observation()
        obs = observation.value()
        greedy = self.greedy_actions(obs)
        random_actions = self._generator.uniform((self.num_envs,), 0, self.action_count, dtype=tf.int32)
        explore = self._generator.uniform((self.num_envs,)) < self.epsilon()
        actions = tf.where(explore, random_actions, greedy)
        step = self.env.step(actions)
        self.replay.add(obs, actions, step.reward, step.final_observation, step.terminated)
        self.tracker.update(step.reward, step.terminated | step.truncated)
        observation.assign(step.observation)

    def _update(self):
        observations, actions, rewards, next_observations, terminals = self.replay.sample()
        next_q_target = self.target_network(next_observations)
        variables = self.q_network.trainable_variables
        if self.loss_fn is not None:
            with tf.GradientTape() as tape:
                q_values = self.q_network(observations)
                loss = self.loss_fn(q_values, next_q_target, actions, rewards, terminals, self.gamma)
                scaled = self.optimizer.scale_loss(loss)  # mixed_float16: loss scaling, recorded on the tape
        else:
            next_q_online = self.q_network(next_observations) if self.double else None
            targets = losses.q_learning_targets(rewards, terminals, next_q_target, self.gamma, next_q_online)
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(losses.dqn_loss(self.q_network(observations), actions, targets))
                scaled = self.optimizer.scale_loss(loss)
        self.optimizer.apply(tape.gradient(scaled, variables), variables)
        self.updates.assign_add(1)
        online, target = self.q_network.variables, self.target_network.variables
        if self.polyak > 0:
            for t, o in zip(target, online):
                t.assign((1.0 - self.polyak) * t + self.polyak * o)
        else:
            copy = tf.equal(self.updates % self.target_update_every, 0)
            for t, o in zip(target, online):
                t.assign(tf.where(copy, o, t))
        return loss

    def _updates(self):
        total = tf.constant(0.0)
        for _ in tf.range(self.gradient_steps):
            total += self._update()
        return total / self.gradient_steps

    def train_step(self, data):
        for _ in tf.range(self.collect_steps):
            self._explore()
        loss = tf.constant(0.0)
        if self.replay.size >= self.learning_starts:  # a tf.cond, once compiled
            loss = self._updates()
        return {"loss": loss, "epsilon": self.epsilon(), **self.tracker.logs()}
