"""`mit-dl demo`: a short end-to-end tour on real data, offline.

1. Trains two next-character models made only of `mit_dl.layers` (a
   MyRNNCell RNN and a one-block causal self-attention model) on O'Neill's
   1850 tunes from the music21 corpus, reports validation bits per character
   against the uniform baseline, samples a tune from the RNN, and exports the
   attention model as a SavedModel that is reloaded and checked.
2. Lab 1 part 2 in brief: the lab's Embedding-LSTM-Dense model (``quick``
   preset) trained for a quarter as many steps, exported as a generator
   SavedModel, and three songs sampled from it as ``.abc``, ``.mid`` and
   ``.wav`` files (a model this short-trained often writes no complete song:
   that is reported, and ``mit-dl music train`` trains it properly).
3. When Fashion-MNIST is reachable (``$MIT_DL_DATA``, a cache, Debian's
   package or a download), trains the lab's CNN for one epoch and writes its
   plots, metrics and export; otherwise says how to provide the data.
4. Lab 2 part 2 in brief: the standard face CNN and the DB-VAE trained on
   the same small synthetic face set (``quick`` preset, ``steps`` steps
   each), with the per-group table, plots and exported detectors.
5. Lecture 4 in brief: a β-VAE on 2,000 sprites with known factors
   (``steps`` steps), with its samples, traversals, quality scores, the
   mutual information gap of its latent code, and its exported generator.
6. Lecture 6 in brief: REINFORCE on the TensorFlow CartPole for ``40 *
   steps`` environment steps, its greedy policy evaluated on gymnasium's
   CartPole (20 episodes), exported, and one episode filmed as a GIF.
7. Lecture 5 in brief: a deep ensemble of three mean-variance networks on
   the regression toy (``2 * steps`` steps): its aleatoric band against the
   true noise, its epistemic band in the gap and beyond the data, the figure
   and the export.
8. Lecture 3 beyond classification in brief, when MNIST is reachable: the
   single-shot detector trained ``steps / 2`` steps on 1,000 scenes of real
   digits, evaluated and exported; with the CNN of part 3, its saliency,
   Grad-CAM and integrated-gradients maps and its accuracy under FGSM.
"""

import math
import pathlib
import time

import keras
import numpy as np
import tensorflow as tf

from mit_dl.data import mnist
from mit_dl.data.mnist import DatasetNotFound
from mit_dl.errors import ConfigError
from mit_dl.faces import FacesConfig
from mit_dl.faces import workflow as faces_workflow
from mit_dl.generative import GenerativeConfig
from mit_dl.generative import workflow as generative_workflow
from mit_dl.images import ImagesConfig
from mit_dl.images import data as images_data
from mit_dl.images import workflow as images_workflow
from mit_dl.music import GenerationConfig, MusicConfig
from mit_dl.music import data as music
from mit_dl.music import workflow as music_workflow
from mit_dl.music.char_models import attention_char_model, rnn_char_model
from mit_dl.rl import RLConfig
from mit_dl.rl import workflow as rl_workflow
from mit_dl.training import Trainer
from mit_dl.training.runs import write_json
from mit_dl.uncertainty import workflow as uncertainty_workflow
from mit_dl.uncertainty.config import UncertaintyConfig
from mit_dl.vision import VisionConfig
from mit_dl.vision import workflow as vision_workflow


def run(out_dir, steps=500, batch_size=32, sequence_length=64, seed=0, log=print):
    """The tour above, written to ``out_dir``.

    Args:
        out_dir: the run directory.
        steps: training steps of each lecture-layer model (the music LSTM runs a
            quarter of its preset's steps; the face models run ``steps``).
        batch_size: windows per step of the lecture-layer models.
        sequence_length: characters per window.
        seed: the seed of every model and sample.
        log: where progress lines go.

    Returns:
        The figures, also written to ``out_dir/metrics.json``.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps <= 0:
        raise ConfigError("steps", f"must be a positive number, received {steps!r}")
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(seed)

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

    # The lab LSTM's steps are ~10x slower than the small models': a quarter as many.
    metrics["music"] = _music_generation(out_dir / "music", max(20, steps // 4), seed, log)
    metrics["images"] = _image_classification(out_dir / "images", seed, log)
    metrics["faces"] = _face_debiasing(out_dir / "faces", steps, seed, log)
    metrics["generative"] = _generative_model(out_dir / "generative", steps, seed, log)
    metrics["rl"] = _reinforcement_learning(out_dir / "rl", 40 * steps, seed, log)
    metrics["uncertainty"] = _uncertainty(out_dir / "uncertainty", 2 * steps, seed, log)
    metrics["vision"] = _vision(
        out_dir / "vision", max(10, steps // 2), seed, metrics["images"].get("run_directory"), log
    )
    write_json(out_dir / "metrics.json", metrics)
    return metrics


def _train_lecture_model(name, model, train, val, steps, uniform_bits, log):
    """Train one lecture-layer model; its held-out bits per character before and after."""
    trainer = Trainer(
        model,
        keras.optimizers.Adam(3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        verbose=False,
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


def _music_generation(out_dir, steps, seed, log):
    """Lab 1 part 2 in brief: train the lab's LSTM briefly, export it, write and judge three songs."""
    log(f"music generation: the lab's LSTM (quick preset), {steps} steps")
    trained = music_workflow.train(MusicConfig.quick(steps=steps, seed=seed), out_dir, log=log)
    summary = music_workflow.generate(
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


def _image_classification(out_dir, seed, log):
    """Lab 2 part 1 in brief: the course CNN, one epoch on Fashion-MNIST, if the data is reachable."""
    config = ImagesConfig(epochs=1, seed=seed)
    try:
        images_data.load_split(config)
    except DatasetNotFound as error:
        log(f"image classification skipped: {error}")
        return {"skipped": str(error)}
    log("image classification: the lab's CNN, 1 epoch on Fashion-MNIST")
    run = images_workflow.train(config, out_dir, log=log)
    return {"test_accuracy": run["test"]["accuracy"], "run_directory": str(out_dir)}


def _face_debiasing(out_dir, steps, seed, log):
    """Lab 2 part 2 in brief: standard CNN vs DB-VAE on the same synthetic faces."""
    log(f"face detection: standard CNN vs DB-VAE on synthetic faces with rare groups, {steps} steps each")
    summary = faces_workflow.compare(
        FacesConfig.quick(steps=steps), seeds=(seed,), models=("cnn", "dbvae-max"), out_dir=out_dir, log=log
    )
    log(
        f"(one seed and {steps} steps is a smoke run: per-group numbers move by several points between seeds, "
        "and the DB-VAE's reconstructions and latent traversal need the full preset; the measured debiasing gain "
        "comes from `mit-dl faces compare --seeds 0 1 2 3 4`, see the faces lab's docs page)"
    )
    worst = {name: summary["per_model"][name]["worst_face"]["mean"] for name in summary["models"]}
    return {"worst_face_group": worst, "run_directory": str(out_dir)}


def _generative_model(out_dir, steps, seed, log):
    """Lecture 4 in brief: a β-VAE on a small sprites set, scored, with its disentanglement measured."""
    log(f"deep generative models: a beta-VAE on 2,000 sprites with known factors, {steps} steps")
    config = GenerativeConfig.quick(
        model="beta-vae", dataset="sprites", sprites_count=2000, steps=steps, evaluation_count=500, seed=seed
    )
    trained = generative_workflow.train(config, out_dir, log=log)
    log(
        "(a smoke run: `mit-dl generative train --model beta-vae --dataset sprites` trains 3,000 steps on 20,000 "
        "sprites; the generative lab's docs page has the measured figures)"
    )
    return {
        "fd": trained["quality"]["fd"],
        "mig": trained["disentanglement"]["mig"],
        "run_directory": str(out_dir),
    }


def _reinforcement_learning(out_dir, env_steps, seed, log):
    """Lecture 6 in brief: REINFORCE on the TensorFlow CartPole, evaluated on gymnasium's, exported, filmed."""
    log(f"reinforcement learning: REINFORCE on 8 TensorFlow CartPoles, {env_steps} environment steps")
    config = RLConfig.quick(
        agent="reinforce",
        env="cartpole-tf",
        env_steps=env_steps,
        evaluation_every=max(env_steps // 2, 1),
        evaluation_episodes=20,
        seed=seed,
    )
    trained = rl_workflow.train(config, out_dir, log=log)
    log(
        "(a smoke run: `mit-dl rl train --agent reinforce` trains up to 150,000 steps and stops when CartPole is "
        "solved; the reinforcement-learning lab's docs page has the measured figures)"
    )
    return {
        "env_steps": trained["env_steps"],
        "greedy_mean_return": trained["final_evaluation"]["mean_return"],
        "solved": trained["solved"],
        "run_directory": str(out_dir),
    }


def _uncertainty(out_dir, steps, seed, log):
    """Lecture 5 in brief: a 3-member ensemble of MVE networks on the regression toy: both kinds of uncertainty."""
    log(f"uncertainty: a deep ensemble of 3 mean-variance networks on y = x^3 + noise, {steps} steps")
    config = UncertaintyConfig.quick(method="ensemble", task="regression", members=3, steps=steps, seed=seed)
    metrics = uncertainty_workflow.train(config, out_dir, log=log)
    log("(the uncertainty lab's docs page has every method on the toy and on Fashion-MNIST vs MNIST)")
    return {**metrics["regression"], "run_directory": str(out_dir)}


def _vision(out_dir, steps, seed, cnn_run, log):
    """Lecture 3 beyond classification in brief: a detector on scenes of real digits; what the CNN looks at."""
    try:
        mnist.load_arrays("mnist", "test")
    except DatasetNotFound as error:
        log(f"vision skipped: {error}")
        return {"skipped": str(error)}
    log(f"vision: a single-shot detector on 1,000 scenes of real MNIST digits, {steps} steps")
    config = VisionConfig(
        task="detection", train_scenes=1000, test_scenes=200, steps=steps, eval_every=steps, seed=seed
    )
    detected = vision_workflow.train(config, out_dir / "detector", log=log)
    result = {"map_50": detected["test"]["map_50"], "run_directory": str(out_dir / "detector")}
    if cnn_run:
        explained = vision_workflow.explain(cnn_run, ("saliency", "gradcam", "ig"), 6, out_dir)
        attacked = vision_workflow.attack([cnn_run], "fgsm", (0, 8, 25.5), 500, out_dir)
        accuracy = next(iter(attacked["runs"].values()))["accuracy"]
        log(
            f"the images CNN: attribution maps in {explained['figure']}; FGSM on 500 test images: accuracy "
            f"{100 * accuracy[0]:.1f}% clean, {100 * accuracy[2]:.1f}% at epsilon 25.5 pixel units (0.1)"
        )
        result["fgsm_accuracy"] = dict(zip(("0", "8", "25.5"), accuracy))
    log(
        "(a smoke run: `mit-dl vision train --task segmentation|detection` trains on 8,000 scenes; the "
        "vision lab's docs page has the measured times and figures)"
    )
    return result


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
