"""Lecture 6 lab speed: compiled TensorFlow CartPoles vs gymnasium's vector env, and a compiled REINFORCE update.

Run: python -m benchmarks.rl [--envs 64] [--steps 200] [--repeats 5]

1. Environment steps per second, ``envs`` CartPoles for ``steps`` steps,
   each step choosing actions by sampling the same policy network (the
   lab's 64-64 MLP, untrained: speed does not depend on its weights):
   `mit_dl.rl.cartpole.CartPole` stepped inside one compiled ``tf.function``
   rollout (plain, and XLA-compiled with ``jit_compile=True``, which fuses the
   many small operations of a step), against ``gymnasium.vector.SyncVectorEnv`` of ``CartPole-v1``
   whose observations go through the same network compiled (one call per
   step for the whole batch), as a user of gymnasium would drive it.
2. One REINFORCE iteration (8 CartPole episodes of at most 500 steps on the
   TensorFlow CartPole, returns, normalisation, the gradient step):
   `ReinforceAgent.train_step` compiled with ``tf.function`` against the same
   method run eagerly.

Contenders alternate within each round (`benchmarks.timing.alternate`).
Results: benchmarks/results/rl.json.
"""

import argparse

from mit_dl.environment import quiet_tensorflow_startup

quiet_tensorflow_startup()  # before TensorFlow prints its C++ start-up lines

import gymnasium  # noqa: E402
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.timing import alternate, ratio_row, write_results  # noqa: E402
from mit_dl.rl import cartpole, networks  # noqa: E402
from mit_dl.rl.agent import sample_actions  # noqa: E402
from mit_dl.rl.reinforce import ReinforceAgent  # noqa: E402


def environment_rates(envs, steps, repeats):
    """Env steps/s of the compiled TensorFlow rollout and of gymnasium's SyncVectorEnv, same policy."""
    policy = networks.action_network((4,), 2)
    generator = tf.random.Generator.from_seed(0)
    tf_envs = cartpole.CartPole(envs, seed=0)
    tf_envs.reset()

    def tf_rollout():
        total = tf.constant(0.0)
        for _ in tf.range(steps):
            step = tf_envs.step(sample_actions(policy(tf_envs.observe()), generator))
            total += tf.reduce_sum(step.reward)
        return total

    compiled, xla = tf.function(tf_rollout), tf.function(tf_rollout, jit_compile=True)

    vector = gymnasium.vector.SyncVectorEnv(
        [lambda: gymnasium.make("CartPole-v1") for _ in range(envs)], autoreset_mode="SameStep"
    )
    observations, _ = vector.reset(seed=0)
    act = tf.function(lambda obs: sample_actions(policy(obs), generator))

    def gymnasium_rollout():
        nonlocal observations
        for _ in range(steps):
            observations, _, _, _, _ = vector.step(act(tf.constant(observations, tf.float32)).numpy())

    contenders = {
        "TensorFlow CartPole, tf.function": lambda: compiled().numpy(),
        "TensorFlow CartPole, tf.function + XLA": lambda: xla().numpy(),
        "gymnasium SyncVectorEnv": gymnasium_rollout,
    }
    seconds = alternate(contenders, repeats=repeats, iterations=1, warmup=1)
    vector.close()
    return {name: envs * steps / s for name, s in seconds.items()}


def reinforce_update_seconds(repeats):
    """Seconds of one REINFORCE iteration (8 episodes and the update), compiled and eager."""
    keras.utils.set_random_seed(0)
    agent = ReinforceAgent(cartpole.CartPole(8, seed=0), seed=0)
    agent.compile(optimizer=keras.optimizers.SGD(0.0))  # rate 0: every round plays the same policy
    compiled = tf.function(agent.train_step)
    contenders = {
        "compiled (tf.function)": lambda: compiled(tf.constant(0)),
        "eager": lambda: agent.train_step(tf.constant(0)),
    }
    return alternate(contenders, repeats=repeats, iterations=1, warmup=1)


# `python -m benchmarks --quick`: a small run of every part, a few seconds to a minute on 2 CPU cores.
QUICK = ["--envs", "16", "--steps", "50", "--repeats", "2"]


def headline(results):
    """The table's rows: the TensorFlow CartPole against gymnasium's, a compiled REINFORCE iteration against eager."""
    speed, iteration = results["env_steps_per_second"], results["reinforce_iteration_seconds"]
    return [
        ratio_row(
            f"CartPole environment steps ({results['envs']} environments)",
            ("TensorFlow CartPole, tf.function", speed["TensorFlow CartPole, tf.function"]),
            ("gymnasium SyncVectorEnv", speed["gymnasium SyncVectorEnv"]),
            "env steps/s",
            True,
        ),
        ratio_row(
            "REINFORCE iteration",
            ("compiled", iteration["compiled (tf.function)"]),
            ("eager", iteration["eager"]),
            "s",
            False,
        ),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--envs", type=int, default=64)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    rates = environment_rates(args.envs, args.steps, args.repeats)
    names = list(rates)
    ratios = {name: rates[name] / rates[names[-1]] for name in names[:-1]}
    print(f"{args.envs} CartPoles x {args.steps} steps, one policy network (env steps/s, median of rounds):")
    for name, rate in rates.items():
        print(f"  {name:40s} {rate:12,.0f}")
    for name, ratio in ratios.items():
        print(f"  {name} / gymnasium: {ratio:.1f}x")

    update = reinforce_update_seconds(args.repeats)
    speedup = update["eager"] / update["compiled (tf.function)"]
    print("one REINFORCE iteration, 8 episodes + update (s, median):")
    for name, value in update.items():
        print(f"  {name:40s} {value:12.3f}")
    print(f"  compiled / eager speed-up: {speedup:.1f}x")
    write_results(
        "rl",
        {
            "envs": args.envs,
            "steps": args.steps,
            "env_steps_per_second": {k: round(v) for k, v in rates.items()},
            "over_gymnasium": {k: round(v, 2) for k, v in ratios.items()},
            "reinforce_iteration_seconds": {k: round(v, 4) for k, v in update.items()},
            "reinforce_compiled_speedup": round(speedup, 2),
        },
    )


if __name__ == "__main__":
    main()
