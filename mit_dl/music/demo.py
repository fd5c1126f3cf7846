"""The music lab's part of ``mit-dl demo``: the lab's LSTM in brief, exported, three songs written and judged."""

from mit_dl.music import generate, train
from mit_dl.music.config import GenerationConfig, MusicConfig


def run(out_dir, steps, seed, log, earlier):
    """Train the lab's LSTM (``quick`` preset) for a quarter of ``steps``, export it, write and judge three songs.

    A model this short-trained often writes no complete song: that is reported, and ``mit-dl music train``
    trains it properly.

    Args:
        out_dir: the part's folder.
        steps: the demo's steps per model (the LSTM's steps are about 10x slower: a quarter as many, at least 20).
        seed: the seed of the model and the songs.
        log: where progress lines go.
        earlier: the figures of the parts run before (unused).

    Returns:
        The held-out bits per character, the valid songs and their folder.
    """
    steps = max(20, steps // 4)
    log(f"music generation: the lab's LSTM (quick preset), {steps} steps")
    trained = train.train(MusicConfig.from_preset("quick", steps=steps, seed=seed), out_dir, log=log)
    summary = generate.generate(
        out_dir / "generator",
        GenerationConfig(songs=3, length=800, seed=seed, baseline=False),
        out_dir=out_dir / "songs",
        log=log,
    )
    return {
        "val_bits_per_char": trained["loss_per_character"]["val_bits"],
        "valid_songs": summary["valid"],
        "songs_dir": summary["out_dir"],
    }
