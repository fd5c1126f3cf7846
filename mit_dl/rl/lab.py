"""The reinforcement-learning lab's entry in the registry (`mit_dl.registry`): lecture 6."""

from mit_dl.cli import train_with
from mit_dl.registry import Command, DemoPart, Lab
from mit_dl.rl import commands
from mit_dl.rl.config import RLConfig

LAB = Lab(
    name="rl",
    title="Reinforcement learning",
    course="Lecture 6",
    summary="DQN, REINFORCE and actor-critic on CartPole; Pong by policy gradient",
    lectures=("Lecture 6: deep reinforcement learning",),
    commands=(
        Command(
            "train",
            "train an agent; evaluate its greedy policy on gymnasium, plot its returns, export and film it",
            train_with("mit_dl.rl.train", lambda config: f"rl-{config.agent}-{config.env}"),
            RLConfig,
            out="run directory (default: runs/rl-<agent>-<env>-<time>)",
        ),
        Command(
            "play", "play gymnasium episodes with an exported policy", commands.play, options=commands.play_options
        ),
    ),
    configs=(RLConfig,),
    demo=DemoPart(
        "mit_dl.rl.demo:run",
        seconds=35,
        describe="REINFORCE on 8 TensorFlow CartPoles, evaluated on gymnasium's, exported and filmed",
    ),
    assets="mit_dl.rl.assets:build",
    graders=("rl",),
    notebooks=("rl/reinforcement_learning",),
    exports=("rl policy",),
    benchmark="rl",
)
