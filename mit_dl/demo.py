"""`mit-dl demo`: a short end-to-end tour on real data, offline, built from the labs' registry.

First the lecture layers: two next-character models made only of
`mit_dl.layers` (a MyRNNCell RNN and a one-block causal self-attention
model) train on O'Neill's 1850 tunes from the music21 corpus; their
validation bits per character are reported against the uniform baseline, a
tune is sampled from the RNN, and the attention model is exported as a
SavedModel, reloaded and checked.

Then each registered lab's demo part (`mit_dl.registry.DemoPart`, in course
order: ``mit_dl/<lab>/demo.py``) in its own folder. By default the parts
that fit the time budget run (`BUDGET_SECONDS` on a slow 2-core machine,
from each part's stated time) and the others are listed with the command
that runs them; ``labs=("rl", ...)`` (``--labs rl,vision``) runs those parts
whatever their time, ``labs="all"`` every part.
"""

import math
import pathlib
import time

import keras
import numpy as np
import tensorflow as tf

from mit_dl import registry
from mit_dl.errors import ConfigError
from mit_dl.music import data as music
from mit_dl.music.char_models import attention_char_model, rnn_char_model
from mit_dl.training import Trainer
from mit_dl.training.runs import write_json

# The default demo's time on a slow (AVX2) 2-core machine: the lecture layers' part and the lab parts that fit.
BUDGET_SECONDS = 240
# The lecture layers' part at 500 steps on such a machine (two small models, the export): 23.6 s measured on
# the fast (AVX-512) kind, times 4 (the kinds' measured ratio: 3x for CI's time per test, 5.3x for a matmul).
LAYERS_SECONDS = 95


def run(out_dir, steps=500, batch_size=32, sequence_length=64, seed=0, log=print, labs=None):
    """The tour above, written to ``out_dir``.

    Args:
        out_dir: the run directory.
        steps: training steps of each lecture-layer model, and the steps each lab part scales its own from.
        batch_size: windows per step of the lecture-layer models.
        sequence_length: characters per window.
        seed: the seed of every model and sample.
        log: where progress lines go.
        labs: lab names whose parts run, ``"all"``, or None for the parts within `BUDGET_SECONDS`.

    Returns:
        The figures, also written to ``out_dir/metrics.json``.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps <= 0:
        raise ConfigError("steps", f"must be a positive number, received {steps!r}")
    chosen, left_out = parts(labs, steps)
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(seed)
    started = time.perf_counter()
    metrics = _lecture_layers(out_dir, steps, batch_size, sequence_length, seed, log)
    metrics["seconds"] = {"layers": time.perf_counter() - started}
    for lab in chosen:
        part_started = time.perf_counter()
        metrics[lab.name] = registry.resolve(lab.demo.run)(out_dir / lab.name, steps, seed, log, metrics)
        metrics["seconds"][lab.name] = time.perf_counter() - part_started
    metrics["seconds"]["total"] = time.perf_counter() - started
    if left_out:
        log(f"left out to keep the demo within {BUDGET_SECONDS // 60} minutes on a slow 2-core machine:")
        for lab in left_out:
            log(f"  {lab.name}: {lab.demo.describe} (mit-dl demo --labs {lab.name})")
    metrics["left_out"] = [lab.name for lab in left_out]
    write_json(out_dir / "metrics.json", metrics)
    return metrics


def parts(labs, steps=500):
    """The labs whose demo parts run, and those left out.

    Args:
        labs: lab names, ``"all"``, or None: in registry order, each part whose stated time (scaled by
            ``steps / 500``) still fits in `BUDGET_SECONDS` after the lecture layers' part and those before.
        steps: the demo's steps per model.

    Returns:
        ``(chosen, left_out)``: two tuples of `mit_dl.registry.Lab`.

    Raises:
        ConfigError: a name that is no lab's.
    """
    with_demo = [lab for lab in registry.labs() if lab.demo is not None]
    if labs == "all":
        return tuple(with_demo), ()
    if labs is not None:
        known = {lab.name for lab in with_demo}
        unknown = [name for name in labs if name not in known]
        if unknown:
            raise ConfigError(
                "labs", f"names no lab with a demo part: {', '.join(unknown)} (the labs: {', '.join(known)})"
            )
        return tuple(lab for lab in with_demo if lab.name in labs), ()
    scale = steps / 500
    spent, chosen, left_out = LAYERS_SECONDS * scale, [], []
    for lab in with_demo:  # in course order, each part that still fits
        cost = lab.demo.seconds * scale
        if spent + cost <= BUDGET_SECONDS:
            chosen.append(lab)
            spent += cost
        else:
            left_out.append(lab)
    return tuple(chosen), tuple(left_out)


def _lecture_layers(out_dir, steps, batch_size, sequence_length, seed, log):
    """The lecture-layer models on the tunes: bits per character, a sampled tune, an export reloaded."""
    tunes = music.load_tunes()
    train_tunes, val_tunes = music.split_by_tune(tunes, validation_fraction=0.05, seed=seed)
    train_text, val_text = music.join_tunes(train_tunes), music.join_tunes(val_tunes)
    vocab = music.Vocabulary.from_text(train_text)
    val_text = "".join(c for c in val_text if c in vocab.characters)
    log(
        f"data: {len(tunes)} tunes from O'Neill's 1850 collection (music21 corpus), "
        f"{len(train_tunes)} train / {len(val_tunes)} validation, vocabulary {len(vocab)} characters"
    )

    train = music.next_character_dataset(vocab.encode(train_text), sequence_length, batch_size, seed=seed)
    val = music.next_character_dataset(vocab.encode(val_text), sequence_length, batch_size, shuffle=False).take(20)
    uniform_bits = math.log2(len(vocab))
    metrics = {"uniform_bits_per_char": uniform_bits, "steps": steps, "models": {}}

    models = {"MyRNNCell RNN": rnn_char_model(len(vocab)), "self-attention": attention_char_model(len(vocab))}
    for name, model in models.items():
        metrics["models"][name] = _train_lecture_model(name, model, train, val, steps, uniform_bits, log)

    sample = _sample_from_rnn_cell(models["MyRNNCell RNN"], vocab, "X:1\n", 300, seed)
    (out_dir / "rnn_sample.abc").write_text(sample)
    shown = "\n".join("  " + line for line in sample.splitlines()[:8])
    log(f"sample from the MyRNNCell model (temperature 1):\n{shown}")

    probe = vocab.encode(val_text[:sequence_length])[None]
    metrics["savedmodel_max_abs_error"] = _export_and_reload(models["self-attention"], probe, out_dir, log)
    return metrics


def _train_lecture_model(name, model, train, val, steps, uniform_bits, log):
    """Train one lecture-layer model; its held-out bits per character before and after."""
    trainer = Trainer(
        model,
        keras.optimizers.Adam(3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        verbose="progress",
    )
    before = trainer.evaluate(val)["loss"] / math.log(2)
    start = time.perf_counter()
    trainer.fit(train, steps=steps)
    seconds = time.perf_counter() - start
    after = trainer.evaluate(val)["loss"] / math.log(2)
    log(
        f"{name:15s}: validation {before:.2f} -> {after:.2f} bits/char "
        f"(uniform {uniform_bits:.2f}) in {steps} steps, {seconds:.0f} s"
    )
    return {
        "val_bits_per_char_before": before,
        "val_bits_per_char_after": after,
        "train_seconds": seconds,
        "parameters": model.count_params(),
    }


def _export_and_reload(model, probe, out_dir, log):
    """Export ``model`` as a SavedModel, reload it and return the largest difference on ``probe``."""
    export_dir = out_dir / "attention_char_model"
    model.export(str(export_dir), verbose=False)
    served = tf.saved_model.load(str(export_dir))  # kept: the loaded variables live as long as it does
    reloaded = served.serve(tf.constant(probe)).numpy()
    max_error = float(np.max(np.abs(reloaded - model(probe).numpy())))
    log(f"exported {export_dir} and reloaded it: max |difference| {max_error:.1e}")
    return max_error


def _sample_from_rnn_cell(model, vocab, seed_text, length, seed):
    """Step the trained MyRNNCell one character at a time, state passed explicitly."""
    embedding, rnn = model.layers[1], model.layers[2]
    cell = rnn.cell
    state = cell.get_initial_state(batch_size=1)
    generator = tf.random.Generator.from_seed(seed)
    ids = list(vocab.encode(seed_text))
    logits = None
    for token in ids:
        logits, state = cell(embedding(tf.constant([token])), state)
    for _ in range(length):
        token = int(tf.random.stateless_categorical(logits, 1, seed=generator.make_seeds(1)[:, 0])[0, 0])
        ids.append(token)
        logits, state = cell(embedding(tf.constant([token])), state)
    return vocab.decode(ids)
