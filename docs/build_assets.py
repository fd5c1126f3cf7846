"""Regenerate the documentation site's figures, audio and rendered notebooks from real runs.

Run from the repository root (the real Fashion-MNIST / MNIST files must be
reachable, e.g. ``MIT_DL_DATA=../shared/data``)::

    python -m docs.build_assets                     # everything, about 20 minutes on a 2-core CPU
    python -m docs.build_assets --only music faces  # some parts

Each part trains a lab the way its command does, in a scratch folder
(``--work``, default ``runs/docs-assets``), and copies what the pages show
into ``docs/assets/<part>/``; ``docs/assets/manifest.json`` records, per
part, the command-line equivalent, the date, the machine, the commit and
the figures the run measured, so a page can say what made each picture.
The notebooks part executes every solution notebook in quick mode and
writes it, outputs included, to ``docs/notebooks/``.
"""

import argparse
import base64
import datetime
import io
import json
import os
import pathlib
import platform
import re
import shutil
import subprocess
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
ASSETS = ROOT / "docs" / "assets"
NOTEBOOKS = ROOT / "docs" / "notebooks"
MANIFEST = ASSETS / "manifest.json"
SONG_SECONDS = 30  # the page's song is cut to this length (about 1.3 MB at 22,050 Hz mono)
# The rendered notebooks' outputs are shrunk to keep the committed site small (under 5.5 MB in all):
NOTEBOOK_AUDIO_SECONDS = 15  # songs in a notebook: the first 15 s at half the sample rate
LARGE_PNG = 100_000  # base64 characters; larger PNG outputs (grids of faces) become JPEG


def machine():
    """One line naming this machine: processor, cores, operating system."""
    model = platform.processor() or platform.machine()
    cpuinfo = pathlib.Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def commit():
    """The repository's commit (with ``+changes`` when the work tree differs).

    Outside a git checkout (e.g. an exported copy of a commit) it is
    ``$MIT_DL_COMMIT`` when set, else ``unknown``.
    """
    fallback = os.environ.get("MIT_DL_COMMIT", "unknown")
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "mit_dl"], cwd=ROOT, capture_output=True, text=True)
    except OSError:
        return fallback
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "") if head.returncode == 0 else fallback


def _copy(run_dir, names, part, colours=None):
    """Copy a run's figures into ``docs/assets/<part>/``; with ``colours``, PNGs become palette images."""
    out = ASSETS / part
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copyfile(pathlib.Path(run_dir) / name, out / name)
        if colours and name.endswith(".png"):
            palette_png(out / name, colours)
    return [f"{part}/{name}" for name in names]


def palette_png(path, colours=256):
    """Rewrite a PNG with a palette of ``colours``: grids of faces weigh about a third as much."""
    from PIL import Image

    with Image.open(path) as image:
        quantized = image.convert("RGB").quantize(colours)
    quantized.save(path, optimize=True)


def music(work):
    """Train the `quick` LSTM, draw five songs and keep the first valid one's WAV (cut) and ABC text."""
    from mit_dl.music import GenerationConfig, MusicConfig, audio, workflow

    run_dir = work / "music-quick"
    metrics = workflow.train(MusicConfig.quick(), run_dir)
    summary = workflow.generate(run_dir / "generator", GenerationConfig(songs=5, seed=0), run_dir / "songs")
    files = _copy(run_dir, ["training_curves.png"], "music")
    played = next((e for e in summary["songs"] if e.get("valid") and (run_dir / "songs" / _wav(e)).exists()), None)
    if played is None:
        raise SystemExit(
            f"none of the five samples in {run_dir / 'songs'} held a valid song with audio; the page keeps its old one"
        )
    wave, rate = audio.read_wav(run_dir / "songs" / _wav(played))
    audio.write_wav(ASSETS / "music" / "song.wav", wave[: SONG_SECONDS * rate], rate)
    shutil.copyfile(run_dir / "songs" / _wav(played).replace(".wav", ".abc"), ASSETS / "music" / "song.abc")
    files += ["music/song.wav", "music/song.abc"]
    song = {"sample": played["sample"], "seconds_total": len(wave) / rate, "seconds_kept": SONG_SECONDS}
    return {
        "command": "mit-dl music train --preset quick; mit-dl music generate --model RUN/generator --songs 5 --seed 0",
        "files": files,
        "held_out_bits_per_character": metrics["loss_per_character"]["val_bits"],
        "valid_songs": f"{summary['valid']}/{summary['attempts']}",
        "song": song,
    }


def _wav(entry):
    return f"song_{entry['sample']:02d}.wav"


def images(work):
    """One epoch of the lab's CNN on real Fashion-MNIST with the cosine recipe: the run's three figures."""
    from mit_dl.images import ImagesConfig, workflow

    run_dir = work / "images-cnn"
    metrics = workflow.train(ImagesConfig(dataset="fashion_mnist", model="cnn", recipe="cosine", epochs=1), run_dir)
    return {
        "command": "mit-dl images train --dataset fashion_mnist --model cnn --recipe cosine --epochs 1",
        "files": _copy(run_dir, ["predictions.png", "confusion_matrix.png", "training_curves.png"], "images"),
        "test_accuracy": metrics["test"]["accuracy"],
    }


def faces(work):
    """Every compared model of the `full` preset on the synthetic benchmark, seed 0: the comparison and the DB-VAE's
    figures."""
    from mit_dl.faces import FacesConfig, workflow

    out = work / "faces-compare"
    summary = workflow.compare(FacesConfig.full(), seeds=(0,), out_dir=out)
    files = _copy(out, ["group_accuracy.png"], "faces")
    dbvae = ["training_curves.png", "reconstructions.png", "sampling_extremes.png", "latent_traversal.png"]
    files += _copy(out / "seed-0" / "dbvae-max", dbvae, "faces", colours=256)
    worst = {name: summary["per_model"][name]["worst_face"]["mean"] for name in summary["models"]}
    return {"command": "mit-dl faces compare --seeds 0", "files": files, "worst_face_group": worst}


GENERATIVE_RUNS = {  # run folder -> (config changes, the figures the page shows)
    "dcgan-fashion_mnist": ({"model": "dcgan"}, ["samples.png", "quality.png"]),
    "cgan-fashion_mnist": ({"model": "cgan"}, ["samples.png"]),
    "vae-fashion_mnist": ({"model": "vae"}, ["samples.png"]),
    "beta-vae-sprites": ({"model": "beta-vae", "dataset": "sprites"}, ["traversals.png"]),
}


def generative(work):
    """The quick presets of the DCGAN, conditional GAN and VAE on Fashion-MNIST and the β-VAE on sprites, seed 0."""
    from PIL import Image

    from mit_dl.generative import GenerativeConfig, workflow

    files, measured = [], {}
    for name, (changes, figures) in GENERATIVE_RUNS.items():
        run_dir = work / name
        metrics = workflow.train(GenerativeConfig.quick(**changes), run_dir)
        out = ASSETS / "generative"
        out.mkdir(parents=True, exist_ok=True)
        for figure in figures:  # grey mosaics weigh 3x less as JPEG: the site stays under 5.5 MB
            target = out / f"{name}-{figure.replace('.png', '.jpg')}"
            Image.open(run_dir / figure).convert("RGB").save(target, format="JPEG", quality=85, optimize=True)
            files.append(f"generative/{target.name}")
        measured[name] = workflow.summary_line(changes["model"], metrics)
    return {
        "command": "mit-dl generative train --model M [--dataset sprites] --seed 0 (quick preset), for each run",
        "files": files,
        "summaries": measured,
    }


RL_RUNS = {  # run folder -> the quick preset's changes
    "reinforce-cartpole": {"agent": "reinforce"},
    "dqn-cartpole": {"agent": "dqn"},
    "reinforce-pong": {"agent": "reinforce", "env": "pong"},
}


def rl(work):
    """REINFORCE and DQN on gymnasium's CartPole and REINFORCE on Pong, quick presets, seed 0: curves and a film."""
    import numpy as np
    from PIL import Image, ImageSequence

    from mit_dl import plots
    from mit_dl.rl import RLConfig, workflow

    out = ASSETS / "rl"
    out.mkdir(parents=True, exist_ok=True)
    files, measured = [], {}
    for name, changes in RL_RUNS.items():
        run_dir = work / name
        metrics = workflow.train(RLConfig.quick(**changes), run_dir)
        target = out / f"{name}-returns.png"
        # A 64-colour palette keeps a line plot sharp at a third of the size.
        Image.open(run_dir / "returns.png").convert("RGB").quantize(64).save(target, optimize=True)
        files.append(f"rl/{target.name}")
        measured[name] = workflow.summary_line(metrics)
    # The DQN's filmed episode, every second frame of its GIF at 200 pixels (still real time at 12.5 fps).
    with Image.open(work / "dqn-cartpole" / "episode.gif") as film:
        frames = [np.asarray(frame.convert("RGB")) for frame in ImageSequence.Iterator(film)][::2]
    plots.save_gif(frames, out / "dqn-cartpole-episode.gif", fps=12.5, width=200)
    files.append("rl/dqn-cartpole-episode.gif")
    return {
        "command": "mit-dl rl train --agent A [--env pong] --seed 0 (quick preset), for each run",
        "files": files,
        "summaries": measured,
    }


UNCERTAINTY_METHODS = ("deterministic", "dropout", "ensemble", "bayes", "vae")
REGRESSION_METHODS = ("mve", "dropout", "ensemble", "bayes")
SEEDS = (0, 1, 2)


def _finished_run(train, config, run_dir):
    """A run's metrics: read back when the folder holds a finished run of these settings, else trained."""
    from mit_dl.training.runs import finished_metrics

    return finished_metrics(run_dir, config) or train(config, run_dir)


def uncertainty(work):
    """Every uncertainty method on the regression toy and on Fashion-MNIST vs MNIST, seeds 0-2, and the bias run.

    About 75 minutes on 2 CPU cores (the Fashion-MNIST runs); with ``--resume`` finished runs are read back.
    """
    from mit_dl.uncertainty import workflow
    from mit_dl.uncertainty.config import BiasConfig, UncertaintyConfig

    out = ASSETS / "uncertainty"
    out.mkdir(parents=True, exist_ok=True)
    regression, images = {}, {}
    for method in REGRESSION_METHODS:
        for seed in SEEDS:
            config = UncertaintyConfig.quick(method=method, task="regression", seed=seed)
            metrics = _finished_run(workflow.train, config, work / f"regression-{method}-s{seed}")
            regression.setdefault(method, []).append(metrics["regression"])
    for method in UNCERTAINTY_METHODS:
        for seed in SEEDS:
            config = UncertaintyConfig.quick(method=method, task="fashion_mnist", seed=seed)
            metrics = _finished_run(workflow.train, config, work / f"{method}-s{seed}")
            images.setdefault(method, []).append({k: metrics[k] for k in ("calibration", "ood", "temperature_scaled")})
    bias = _finished_run(workflow.bias, BiasConfig(), work / "bias-s0")["bias"]
    files = []
    for source, name in (
        (work / "regression-ensemble-s0" / "regression.png", "regression-ensemble.png"),
        (work / "regression-dropout-s0" / "regression.png", "regression-dropout.png"),
        (work / "ensemble-s0" / "reliability.png", "reliability-ensemble.png"),
        (work / "ensemble-s0" / "ood_scores.png", "ood-ensemble.png"),
        (work / "vae-s0" / "ood_scores.png", "ood-vae.png"),
        (work / "bias-s0" / "bias_scores.png", "bias-scores.png"),
    ):
        shutil.copyfile(source, out / name)
        palette_png(out / name, 64)
        files.append(f"uncertainty/{name}")
    return {
        "command": "mit-dl uncertainty train --method M --task T --seed S (quick preset) for each method, task "
        "and seed 0-2; mit-dl uncertainty bias",
        "files": files,
        "regression": regression,
        "fashion_mnist": images,
        "bias": bias,
    }


def vision(work):
    """The vision lab: U-Net and detector quick runs, and what the images lab's CNN looks at, with attacks.

    Trains the course's Fashion-MNIST CNN, the same CNN trained against PGD at epsilon 25.5 (0.1),
    the quick U-Net and the quick detector (seed 0, MNIST scenes); then every attribution method on
    the CNN and Grad-CAM on the U-Net, FGSM and PGD curves of both CNNs on 1,000 test images, and
    the CNN's filters and activations. About 45 minutes on 2 CPU cores (the PGD training: 25).
    """
    from mit_dl.images import ImagesConfig
    from mit_dl.images import workflow as images_workflow
    from mit_dl.vision import VisionConfig, workflow

    out = ASSETS / "vision"
    out.mkdir(parents=True, exist_ok=True)
    runs = {
        "cnn": (images_workflow.train, ImagesConfig()),
        "cnn-pgd": (images_workflow.train, ImagesConfig(adversarial_epsilon=25.5)),
        "unet": (workflow.train, VisionConfig()),
        "detector": (workflow.train, VisionConfig(task="detection")),
    }
    measured = {name: _finished_run(train, config, work / name)["test"] for name, (train, config) in runs.items()}
    explained = workflow.explain(work / "cnn", ("saliency", "smoothgrad", "gradcam", "ig", "occlusion"), 6, work)
    segmenter = workflow.explain(work / "unet", ("gradcam", "saliency"), 2, work)
    attacks = {
        method: workflow.attack([work / "cnn", work / "cnn-pgd"], method, out_dir=work) for method in ("fgsm", "pgd")
    }
    workflow.feature_figures(work / "cnn", work)
    files = []
    for source, name in (
        (work / "unet" / "segmentation.png", "segmentation-unet.png"),
        (work / "detector" / "detection.png", "detection.png"),
        (work / "explain-saliency-smoothgrad-gradcam-ig-occlusion.png", "attributions-cnn.png"),
        (work / "explain-gradcam-saliency.png", "attributions-unet.png"),
        (work / "attack-fgsm.png", "attack-fgsm.png"),
        (work / "attack-pgd.png", "attack-pgd.png"),
        (work / "filters.png", "filters.png"),
        (work / "activations.png", "activations.png"),
    ):
        shutil.copyfile(source, out / name)
        # Noisy scenes compress badly: 16 colours keep the site under its budget; the rest keep 64.
        palette_png(out / name, 16 if name.startswith(("segmentation", "detection", "attributions-unet")) else 64)
        files.append(f"vision/{name}")
    return {
        "command": "mit-dl images train [--adversarial-epsilon 25.5]; mit-dl vision train --task T (quick, seed 0); "
        "mit-dl vision explain --model RUN --method ...; mit-dl vision attack --model CNN CNN_PGD --method M; "
        "mit-dl vision features --model CNN",
        "files": files,
        "runs": {
            name: {k: v for k, v in test.items() if not isinstance(v, (list, dict))} for name, test in measured.items()
        },
        "explain": {"cnn": explained["methods"], "unet": segmenter["methods"]},
        "attacks": {
            method: {pathlib.Path(r).name: c["accuracy"] for r, c in a["runs"].items()} for method, a in attacks.items()
        },
        "epsilons": attacks["fgsm"]["runs"][str(work / "cnn")]["epsilon"],
    }


def notebooks(work):
    """Every solution notebook executed in quick mode, outputs kept, into ``docs/notebooks/``."""
    import nbformat

    from mit_dl.labs.runner import run_notebook

    NOTEBOOKS.mkdir(parents=True, exist_ok=True)
    done = {}
    for path in sorted((ROOT / "labs").glob("lab*/*_solution.ipynb")):
        report = run_notebook(path, quick=True, workdir=work / "notebooks" / path.stem)
        if not report.passed:
            raise SystemExit(f"{path} did not pass in quick mode: {report.summary()}")
        name = f"{path.parent.name}_{path.stem.removesuffix('_solution')}.ipynb"
        nbformat.write(shrink_outputs(report.notebook), NOTEBOOKS / name)
        done[name] = round(report.seconds, 1)
    command = "mit-dl labs check labs/labN/PART_solution.ipynb --save-executed docs/notebooks/"
    return {"command": command, "seconds": done}


AUDIO_SOURCE = re.compile(r'src="data:audio/(x-)?wav;base64,([A-Za-z0-9+/=\s]+)"')


def shrink_outputs(notebook):
    """Shorten embedded songs, turn large PNG outputs into JPEG and animations into their last frame, in place.

    Args:
        notebook: an executed ``nbformat`` notebook.

    Returns:
        The same notebook, its outputs replaced where they were large.
    """
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "text/html" in data and AUDIO_SOURCE.search(data["text/html"]):
                data["text/html"] = AUDIO_SOURCE.sub(
                    lambda m: f'src="data:audio/{m[1] or ""}wav;base64,{_short_wav(m[2])}"', data["text/html"]
                )
            gif = data.pop("image/gif", None)
            if gif:  # an episode's animation: its last frame keeps the page small
                data["image/jpeg"] = _as_jpeg(gif, last_frame=True)
            png = data.get("image/png")
            if png and len(png) > LARGE_PNG:
                del data["image/png"]
                data["image/jpeg"] = _as_jpeg(png)
    return notebook


def _short_wav(encoded):
    from mit_dl.music import audio

    wave, rate = audio.read_wav(io.BytesIO(base64.b64decode(encoded)))
    wave = wave[: NOTEBOOK_AUDIO_SECONDS * rate]
    wave = wave[: len(wave) // 2 * 2].reshape(-1, 2).mean(axis=1)  # half the rate, averaging pairs
    out = io.BytesIO()
    audio.write_wav(out, wave, rate // 2)
    return base64.b64encode(out.getvalue()).decode("ascii")


def _as_jpeg(encoded, last_frame=False):
    from PIL import Image

    image = Image.open(io.BytesIO(base64.b64decode(encoded)))
    if last_frame:
        image.seek(image.n_frames - 1)
    image = image.convert("RGB")
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85, optimize=True)
    return base64.b64encode(out.getvalue()).decode("ascii")


PARTS = {
    "music": music,
    "images": images,
    "faces": faces,
    "generative": generative,
    "rl": rl,
    "uncertainty": uncertainty,
    "vision": vision,
    "notebooks": notebooks,
}


def main(argv=None):
    """Build the parts named on the command line (all by default) and update the manifest."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sorted(PARTS), default=sorted(PARTS), help="parts to rebuild")
    parser.add_argument("--work", default=str(ROOT / "runs" / "docs-assets"), help="scratch folder for the runs")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the scratch folder: finished runs are reused, interrupted ones resume (default: start afresh)",
    )
    args = parser.parse_args(argv)
    manifest = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {}
    for name in args.only:
        work = pathlib.Path(args.work)
        if (work / name).exists() and not args.resume:
            shutil.rmtree(work / name)
        started = time.monotonic()
        entry = PARTS[name](work / name)
        entry.update(
            date=datetime.date.today().isoformat(),
            machine=machine(),
            commit=commit(),
            minutes=round((time.monotonic() - started) / 60, 1),
        )
        manifest[name] = entry
        MANIFEST.parent.mkdir(parents=True, exist_ok=True)
        MANIFEST.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        print(f"{name}: done in {entry['minutes']} min")


if __name__ == "__main__":
    main()
