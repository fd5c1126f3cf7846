"""Lab 1 part 2: train a folk-tune model (the course's LSTM or a transformer) and export it.

``train`` writes a run directory::

    checkpoints/         Trainer checkpoints (running the same command again resumes)
    logs/                TensorBoard scalars and history.json
    generator/           SavedModel with ``generate(seed_text, length, temperature, seed)`` and
                         ``generate_many``, metadata.json (vocabulary, config, losses) and the
                         training / held-out tunes used to judge generated songs
    metrics.json         losses per character (nats and bits), speed, data summary
    training_curves.png  training and held-out cross-entropy per character against steps
    settings.json        the config's values and the vocabulary (a resume must match them)

Example (a notebook)::

    from mit_dl.music import MusicConfig, train
    metrics = train.train(MusicConfig.from_preset("quick", steps=300), "runs/music-try")
"""

import math
import time

from mit_dl import plots
from mit_dl.errors import ConfigError
from mit_dl.export import export_savedmodel
from mit_dl.music import data as music_data
from mit_dl.music.config import SEED_TEXT, MusicConfig
from mit_dl.music.model import build_model
from mit_dl.music.sampler import generator_endpoints, sampler_for
from mit_dl.training import Run, Trainer

TRAIN_TUNES_FILE = "training_tunes.abc"

HELD_OUT_TUNES_FILE = "held_out_tunes.abc"


def train(config=None, out_dir="runs/music-quick", log=print):
    """Train the model of ``config`` (LSTM or transformer), plot its curves and export its generator.

    Calling again with the same ``out_dir`` resumes from the newest
    checkpoint; other values for the model or data are refused naming them.

    Args:
        config: a `MusicConfig` (default the ``quick`` preset).
        out_dir: the run directory.
        log: where progress lines go.

    Returns:
        The metrics written to ``metrics.json``.

    Raises:
        ConfigError: a transformer whose context cannot hold the longest tune header.
    """
    config = config or MusicConfig.from_preset("quick")
    tunes = music_data.load_data(config)
    log(f"data: {tunes.describe()}")
    _check_context(config, tunes)
    run = Run.start(
        out_dir, config, lab="music", derived={"data": tunes.source, "vocabulary": tunes.vocab.characters}, log=log
    )
    with run.scope():
        model = build_model(len(tunes.vocab), config)
        log(
            f"model: {config.model} {config.preset} preset, {model.count_params():,} parameters; {config.steps} "
            f"steps of batch {config.batch_size} x {config.sequence_length}"
            + (f", {100 * config.aligned_share:g}% of windows starting a tune" if config.aligned_share else "")
            + ("" if config.precision == "float32" else f"; {config.precision} precision")
        )
        started = time.perf_counter()
        history = _fit(model, tunes, run)
        seconds = time.perf_counter() - started
        per_char = loss_per_character(history, len(tunes.vocab))
        plots.training_curves(
            history,
            run.path / "training_curves.png",
            title=f"music, {config.model} {config.preset} preset: cross-entropy per character (nats)",
            steps_per_epoch=min(config.eval_every, config.steps),
        )
        log(
            f"loss per character: train {per_char['train_bits']:.3f} bits, held-out {per_char['val_bits']:.3f} "
            f"bits ({per_char['val_nats']:.3f} nats; uniform guess {per_char['uniform_bits']:.2f} bits)"
        )
        results = {
            "tunes": {"train": len(tunes.train_tunes), "held_out": len(tunes.val_tunes)},
            "vocabulary_size": len(tunes.vocab),
            "loss_per_character": per_char,
        }
        _export_generator(model, tunes, run, results)
    log(f"exported the generator to {run.path / 'generator'}")
    return run.write_metrics({**results, "history": history, "seconds_this_run": seconds})


def _check_context(config, tunes):
    """A transformer must read a whole tune header (X: to K:) to write the tune that follows it."""
    needed = tunes.longest_header()
    if config.model == "transformer" and config.sequence_length < needed:
        raise ConfigError(
            "sequence_length",
            f"is the transformer's context and must hold the longest tune header of the training tunes "
            f"({needed} characters, X: to the K: line), received {config.sequence_length}; use at least {needed}",
        )


def _fit(model, tunes, run):
    """Train ``model`` on the tunes with the shared Trainer, evaluating every ``eval_every`` steps."""
    config = run.config
    train_data = music_data.next_character_dataset(
        tunes.train_ids,
        config.sequence_length,
        config.batch_size,
        seed=config.seed,
        tune_starts=tunes.train_starts if config.aligned_share else None,
        aligned_share=config.aligned_share,
    )
    val_data = music_data.next_character_dataset(
        tunes.val_ids, config.sequence_length, 64, shuffle=False, stride=config.sequence_length, drop_remainder=False
    )
    trainer = Trainer(
        model,
        strategy=run.strategy,
        checkpoint_dir=run.checkpoints,
        checkpoint_every=config.checkpoint_every,
        log_dir=run.logs,
    )
    return trainer.fit(
        train_data, steps=config.steps, steps_per_epoch=min(config.eval_every, config.steps), validation_data=val_data
    )


def loss_per_character(history, vocab_size):
    """The last epoch's training and held-out cross-entropy in nats and bits, and a uniform guess's.

    Args:
        history: the Trainer's history (``loss``, ``val_loss`` in nats per character).
        vocab_size: number of characters (for the uniform guess).

    Returns:
        ``{"train_nats", "train_bits", "val_nats", "val_bits", "uniform_nats", "uniform_bits"}``.
    """
    train_loss, val_loss = history["loss"][-1], history["val_loss"][-1]
    return {
        "train_nats": train_loss,
        "train_bits": train_loss / math.log(2),
        "val_nats": val_loss,
        "val_bits": val_loss / math.log(2),
        "uniform_nats": math.log(vocab_size),
        "uniform_bits": math.log2(vocab_size),
    }


def _export_generator(model, tunes, run, results):
    """The generator SavedModel, with the tunes it was trained and judged against beside it."""
    sampler = sampler_for(model)
    endpoints, table = generator_endpoints(sampler, tunes.vocab.characters)
    context = {"context": run.config.sequence_length} if run.config.model == "transformer" else {}
    export_savedmodel(
        model,
        run.path / "generator",
        endpoints=endpoints,
        extra_trackables=[table, sampler],
        metadata=run.export_metadata(
            {
                "kind": "music generator",
                "architecture": run.config.model,
                "vocabulary": tunes.vocab.characters,
                "seed_text": SEED_TEXT,
                **context,
                **results,
            }
        ),
        extra_files={
            TRAIN_TUNES_FILE: music_data.join_tunes(tunes.train_tunes) + "\n",
            HELD_OUT_TUNES_FILE: music_data.join_tunes(tunes.val_tunes) + "\n",
        },
    )
