"""Lecture 6 lab: train an agent, evaluate its greedy policy on gymnasium as it learns, export it.

``train`` writes a run directory: ``checkpoints/`` (networks, optimizer,
replay buffer, episode tracker, generators, and the environments' state
when they are TensorFlow's), ``logs/`` (TensorBoard scalars: every loss,
``return_100``, ``episodes``, ``env_steps``), ``evaluations.json`` (each
greedy evaluation: environment steps, iteration, training seconds, mean
return), ``returns.png`` (the training return curve beside the
evaluations), ``metrics.json``, ``settings.json`` and the SavedModel
``policy/`` (``act(observations) -> actions``, and ``q_values`` for DQN).

Training stops at the environment-step budget or, for CartPole with
``stop_when_solved``, at the first evaluation whose mean return reaches 475
(the policy exported is the one that reached it). Running the same command
again resumes an interrupted run and leaves a finished one as it is.

Example (a notebook)::

    from mit_dl.rl import RLConfig, train
    metrics = train.train(RLConfig.from_preset("quick", agent="reinforce", env="cartpole-tf"), "runs/reinforce")
"""

import json
import math
import pathlib
import time

import tensorflow as tf

from mit_dl import plots
from mit_dl.export import export_savedmodel
from mit_dl.rl import data, pong
from mit_dl.rl.config import RLConfig
from mit_dl.rl.endpoints import policy_endpoints
from mit_dl.rl.evaluate import POLICY_KIND, SOLVED_RETURN, evaluate
from mit_dl.rl.model import build_model, env_steps_per_iteration
from mit_dl.training import Run, Trainer
from mit_dl.training.callbacks import Callback
from mit_dl.training.runs import write_json

EVALUATIONS_FILE = "evaluations.json"


class PolicyEvaluation(Callback):
    """Evaluate the greedy policy every ``evaluation_every`` environment steps; stop at the budget or when solved.

    Evaluations are appended to ``evaluations.json`` in the run directory; a
    resumed run keeps those up to its checkpoint and continues the schedule,
    so its record matches an uninterrupted run's.

    Args:
        agent: the agent being trained.
        config: the run's `RLConfig`.
        path: the run directory, or None (nothing written).
        log: where progress lines go.
    """

    def __init__(self, agent, config, path=None, log=print):
        self.agent = agent
        self.config = config
        self.file = pathlib.Path(path) / EVALUATIONS_FILE if path else None
        self.log = log
        self.records = []
        self.train_seconds = 0.0
        self.iteration = 0
        self._act = tf.function(agent.greedy_actions, reduce_retracing=True)

    @property
    def evaluates(self):
        """True for CartPole (Pong's curve is its training returns: a greedy Pong episode takes minutes)."""
        return self.config.is_cartpole

    def solved_at(self):
        """The first evaluation that solved CartPole.

        Returns:
            Its record (mean return at least 475), or None (always None for Pong, which is not evaluated).
        """
        return next((r for r in self.records if r.get("mean_return", -math.inf) >= SOLVED_RETURN), None)

    def finished(self):
        """Whether training is over.

        Returns:
            True once the budget is spent or (with ``stop_when_solved``) an evaluation solved CartPole.
        """
        if int(self.agent.tracker.env_steps) >= self.config.total_env_steps:
            return True
        return bool(self.config.stop_when_solved and self.evaluates and self.solved_at())

    def on_train_begin(self, trainer):
        step = self.iteration = int(trainer.step.numpy())
        if self.file is not None and self.file.is_file():
            # Keep what the restored checkpoint had seen: evaluations up to its iteration, its training time.
            saved = json.loads(self.file.read_text())
            self.records = [r for r in saved["evaluations"] if r["iteration"] <= step]
            if saved.get("iteration") == step:
                self.train_seconds = saved.get("train_seconds", 0.0)
            else:
                self.train_seconds = self.records[-1]["train_seconds"] if self.records else 0.0
        self._started = time.perf_counter()
        if self.finished():
            trainer.stop_training = True

    def _due(self):
        every = self.config.evaluation_every
        done = self.records[-1]["env_steps"] // every if self.records else 0
        return int(self.agent.tracker.env_steps) // every > done

    def evaluate_now(self, iteration):
        """Play the evaluation episodes (CartPole) and record them with the training counters.

        Args:
            iteration: the Trainer's step.
        """
        self.train_seconds += time.perf_counter() - self._started
        env_steps = int(self.agent.tracker.env_steps)
        record = {
            "iteration": iteration,
            "env_steps": env_steps,
            "episodes": int(self.agent.tracker.episodes),
            "train_seconds": round(self.train_seconds, 2),
            "train_return_100": float(self.agent.tracker.mean_return()),
        }
        if self.evaluates:
            result = evaluate(lambda o: self._act(o).numpy(), self.config.env, self.config.evaluation_episodes)
            record.update(mean_return=result["mean_return"], std_return=result["std_return"])
            self.log(
                f"evaluation at {env_steps} env steps ({self.train_seconds:.0f} s of training): "
                f"greedy mean return {result['mean_return']:.1f} over {self.config.evaluation_episodes} episodes"
            )
        self.records.append(record)
        self._write(iteration)
        self._started = time.perf_counter()

    def _write(self, iteration):
        if self.file is not None:
            write_json(
                self.file,
                {"evaluations": self.records, "iteration": iteration, "train_seconds": round(self.train_seconds, 2)},
            )

    def on_step_end(self, trainer, step, logs):
        self.iteration = step
        if self._due():
            self.evaluate_now(step)
        if self.finished():
            trainer.stop_training = True

    def on_train_end(self, trainer):
        self.train_seconds += time.perf_counter() - self._started
        self._started = time.perf_counter()
        self._write(int(trainer.step.numpy()))


def fit(agent, config, run=None, log=print):
    """Train ``agent`` with the shared `Trainer` until the budget is spent or CartPole is solved.

    Args:
        agent: the compiled agent (`mit_dl.rl.model.build_model`).
        config: the run's `RLConfig`.
        run: the `Run` (checkpoints, logs), or None (nothing saved).
        log: where progress lines go.

    Returns:
        ``(history, evaluation)``: the Trainer's history and the `PolicyEvaluation` callback.
    """
    per_iteration = env_steps_per_iteration(config)
    iterations = -(-config.total_env_steps // per_iteration)
    # History entries (and checkpoints) about every evaluation interval; for reinforce, every 10 iterations.
    epoch = 10 if config.agent == "reinforce" else max(1, config.evaluation_every // per_iteration)
    evaluation = PolicyEvaluation(agent, config, run.path if run else None, log)
    trainer = Trainer(
        agent,
        checkpoint_dir=run.checkpoints if run else None,
        log_dir=run.logs if run else None,
        extra_checkpoint_objects=agent.checkpoint_objects(),
        steps_per_execution=1,  # iterations are long; one per call keeps evaluations on exact steps
    )
    log(
        f"{config.agent} on {config.env}: up to {config.total_env_steps:,} environment steps, "
        f"{per_iteration:,}{'+' if config.agent == 'reinforce' else ''} per iteration "
        f"(the Trainer's steps are iterations; at most {iterations:,})"
    )
    data = tf.data.Dataset.from_tensors(tf.constant(0)).repeat()  # a placeholder: the agent makes its data
    history = trainer.fit(data, steps=iterations, steps_per_epoch=min(epoch, iterations), callbacks=[evaluation])
    return history, evaluation


def train(config=None, out_dir="runs/rl", export=True, log=print):
    """Train the agent of ``config``; evaluate, plot, export and film it.

    Args:
        config: an `RLConfig` (default: the quick DQN on gymnasium's CartPole).
        out_dir: the run directory (the same one again resumes or leaves a finished run).
        export: also write the ``policy/`` SavedModel and ``episode.gif``.
        log: where progress lines go.

    Returns:
        The metrics written to ``metrics.json``.
    """
    config = config or RLConfig.from_preset("quick")
    if config.env == "pong":
        pong.atari_emulator()  # a missing extra is said before the run folder is made
    run = Run.start(out_dir, config, lab="rl", log=log)
    env = data.training_envs(config)
    with run.scope():
        agent = build_model(config, env)
        history, evaluation = fit(agent, config, run, log)
    last = evaluation.records[-1]["iteration"] if evaluation.records else None
    if last != evaluation.iteration:
        evaluation.evaluate_now(evaluation.iteration)  # the final policy's own record (and evaluation, on CartPole)
    results = _results(config, agent, history, evaluation)
    _plot_returns(config, history, evaluation.records, run.path)
    if export:
        directory = export_policy(agent, config, run.path / "policy", results)
        results["policy"] = str(directory)
        if config.is_cartpole:
            act = tf.function(agent.greedy_actions, reduce_retracing=True)
            film = evaluate(lambda o: act(o).numpy(), config.env, 1, video=run.path / "episode.gif")
            results["video"] = {"path": film["video"], "return": film["mean_return"]}
    log(summary_line(results))
    return run.write_metrics(results)


def _results(config, agent, history, evaluation):
    solved = evaluation.solved_at()
    last = evaluation.records[-1] if evaluation.records else {}
    return {
        "env_steps": int(agent.tracker.env_steps),
        "episodes": int(agent.tracker.episodes),
        "iterations": evaluation.iteration,
        "train_seconds": round(evaluation.train_seconds, 1),
        "train_return_100": float(agent.tracker.mean_return()),
        # Pong is not evaluated (its curve is the training return): no final evaluation.
        "final_evaluation": (
            {k: last[k] for k in ("env_steps", "mean_return", "std_return")} if "mean_return" in last else None
        ),
        "solved": solved is not None,
        "solved_at": solved,
        "evaluations": evaluation.records,
        "history": history,
    }


def _plot_returns(config, history, records, folder):
    series = {}
    if records:
        series["training: mean return of the last 100 episodes"] = (
            [r["env_steps"] for r in records],
            [r["train_return_100"] for r in records],
        )
        if config.is_cartpole:
            series[f"greedy policy: mean of {config.evaluation_episodes} evaluation episodes"] = (
                [r["env_steps"] for r in records],
                [r["mean_return"] for r in records],
            )
    if not series:
        return None
    return plots.curves(
        series,
        pathlib.Path(folder) / "returns.png",
        title=f"{config.agent} on {config.env}",
        xlabel="environment steps",
        ylabel="return",
        reference=(SOLVED_RETURN, "solved (475)") if config.is_cartpole else None,
    )


def summary_line(results):
    """One line: steps, time, whether and when CartPole was solved, the last evaluation.

    Args:
        results: what `train` measured.

    Returns:
        The line.
    """
    parts = [f"{results['env_steps']} env steps, {results['episodes']} episodes, {results['train_seconds']:.0f} s"]
    if results.get("solved_at"):
        s = results["solved_at"]
        parts.append(
            f"solved at {s['env_steps']} env steps ({s['train_seconds']:.0f} s): mean return {s['mean_return']:.1f}"
        )
    elif results.get("final_evaluation"):
        parts.append(f"not solved: last greedy mean return {results['final_evaluation']['mean_return']:.1f}")
    else:
        parts.append(f"training mean return {results['train_return_100']:.1f} over the last 100 episodes")
    return "; ".join(parts)


def export_policy(agent, config, directory, results=None):
    """Write the greedy policy as a SavedModel: ``act`` (and ``q_values`` for DQN).

    Args:
        agent: the trained agent.
        config: its `RLConfig`.
        directory: the export's folder.
        results: the run's results (the headline numbers go into ``metadata.json``).

    Returns:
        The export's path.
    """
    network = agent.acting_network
    q_values = network if config.agent == "dqn" else None
    endpoints = policy_endpoints(agent.greedy_actions, agent.observation_shape, q_values)
    headline = {k: (results or {}).get(k) for k in ("env_steps", "solved", "final_evaluation")}
    metadata = {
        "kind": POLICY_KIND,
        "agent": config.agent,
        "env": config.env,
        "gymnasium_env": "ALE/Pong-v5 (mit_dl.rl.pong preprocessing)" if config.env == "pong" else "CartPole-v1",
        "observation_shape": list(agent.observation_shape),
        "action_count": agent.action_count,
        "config": dict(vars(config)),
        **headline,
    }
    return export_savedmodel(network, directory, endpoints=endpoints, metadata=metadata)
