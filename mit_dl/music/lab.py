"""The music lab's entry in the registry (`mit_dl.registry`): MIT 6.S191 Lab 1."""

from mit_dl.music import commands
from mit_dl.music.config import GenerationConfig, MusicConfig
from mit_dl.registry import Command, DemoPart, Lab, minutes_text

# Measured by `mit-dl music train ...` (docs/labs/music.md, "Presets"): minutes on the fast and the slow kind.
TRAIN_MINUTES = {"quick": (3, 10), "quick --model transformer": (10, 22), "lab": (30, 174)}


def _minutes(what):
    return minutes_text(*TRAIN_MINUTES[what])


LAB = Lab(
    name="music",
    title="Music generation",
    course="Lab 1",
    summary="an LSTM or a transformer that writes Irish folk tunes",
    lectures=("Lecture 2: recurrent neural networks, transformers and attention",),
    commands=(
        Command(
            "train",
            "train, checkpoint and export the song generator",
            commands.train,
            MusicConfig,
            out="run directory (default: runs/music-<preset>, runs/music-transformer-<preset>)",
            presets=("quick", "lab", "lab-aligned", "full"),
            preset_help={
                "quick": f"an LSTM(256), {_minutes('quick')}; with --model transformer, 3 blocks of width 128 "
                f"over 256 characters, {_minutes('quick --model transformer')}",
                "lab": f"the course's recipe: embedding 256, LSTM(1024), batch 8 x 100, Adam 5e-3, 3,000 steps, "
                f"{_minutes('lab')}",
                "full": "--model transformer only: 4 blocks of width 256 over 512 characters",
            },
            shown_presets=("quick", "lab"),
        ),
        Command(
            "compare",
            "judge several exported generators with the same seeds and write compare.json and compare.md "
            "(trains nothing)",
            commands.compare,
            options=commands.compare_options,
        ),
        Command(
            "generate",
            "write songs as .abc, .mid and .wav and judge them",
            commands.generate,
            GenerationConfig,
            commands.generate_options,
        ),
    ),
    configs=(MusicConfig, GenerationConfig),
    demo=DemoPart(
        "mit_dl.music.demo:run",
        seconds=100,
        describe="the lab's LSTM (quick preset) for a quarter of the steps, exported, three songs written and judged",
    ),
    assets="mit_dl.music.assets:build",
    graders=("music",),
    notebooks=("music/part1_intro", "music/part2_music"),
    exports=("music generator",),
    benchmark="music",
    full_preset_args=("--model", "transformer"),
    train_minutes=TRAIN_MINUTES,
)
