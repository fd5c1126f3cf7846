"""The `mit-dl` command: `--version`, `info`, `demo`, `images train|evaluate`, `music train|generate`,
`faces train|evaluate|compare`, `labs check`."""

import argparse
import datetime
import os
import pathlib
import sys

import mit_dl
from mit_dl.environment import quiet_tensorflow_startup

# mit_dl.training.precision.PRECISIONS, spelled out so that `mit-dl --help` does not import TensorFlow.
PRECISION_CHOICES = ("float32", "mixed_float16", "mixed_bfloat16")
PRECISION_HELP = "mixed_float16 on NVIDIA GPUs, mixed_bfloat16 on TPUs and recent CPUs (default float32)"


class UsageError(Exception):
    """An expected failure, reported to the user as one line."""


def _default_run_dir(name):
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return pathlib.Path("runs") / f"{name}-{stamp}"


def _cmd_info(args):
    from mit_dl import environment

    print(environment.report())


def _cmd_demo(args):
    from mit_dl import demo

    if args.steps <= 0:
        raise UsageError(f"--steps must be a positive number, received {args.steps}.")
    out = pathlib.Path(args.out) if args.out else _default_run_dir("demo")
    print(f"mit_dl {mit_dl.__version__} demo: lecture layers on real Irish folk tunes")
    demo.run(out, steps=args.steps, seed=args.seed)
    print(f"run directory: {out.resolve()}")


def _cmd_images_train(args):
    from mit_dl.workflows import images

    if args.epochs <= 0:
        raise UsageError(f"--epochs must be a positive number, received {args.epochs}.")
    if args.validation is not None and args.validation <= 0:
        raise UsageError(f"--validation must be a positive number of images, received {args.validation}.")
    out = pathlib.Path(args.out) if args.out else _default_run_dir(f"images-{args.dataset}-{args.model}")
    images.train(args.dataset, args.model, epochs=args.epochs, batch_size=args.batch_size, data_dir=args.data,
                 out_dir=out, seed=args.seed, holdout_from_test=args.split_test, validation=args.validation,
                 recipe=args.recipe, learning_rate=args.learning_rate, precision=args.precision)
    print(f"run directory: {out.resolve()}")


def _cmd_images_evaluate(args):
    from mit_dl.workflows import images

    report = images.evaluate_export(args.model, dataset=args.dataset, data_dir=args.data)
    low, high = report["accuracy_95ci"]
    print(f"{report['dataset']} test set ({report['examples']} images, {report['source']}): "
          f"accuracy {100 * report['accuracy']:.2f}% (95% CI {100 * low:.2f}-{100 * high:.2f})")
    for name, accuracy in report["per_class_accuracy"].items():
        print(f"  {name:12s} {100 * accuracy:6.2f}%")


def _cmd_music_train(args):
    from mit_dl.workflows import music

    out = pathlib.Path(args.out) if args.out else pathlib.Path("runs") / f"music-{args.preset}"
    print(f"run directory: {out.resolve()} (run the same command again to resume)")
    if args.checkpoint_every <= 0:
        raise UsageError(f"--checkpoint-every must be a positive number, received {args.checkpoint_every}.")
    music.train(args.preset, data=args.data, steps=args.steps, out_dir=out, seed=args.seed,
                checkpoint_every=args.checkpoint_every, headers=args.headers, precision=args.precision,
                sequence_length=args.sequence_length, batch_size=args.batch_size)


def _cmd_music_generate(args):
    from mit_dl.workflows import music

    soundfont = {"auto": "auto", "none": None}.get(args.soundfont, args.soundfont)
    seed_text = args.seed_text.replace("\\n", "\n") if args.seed_text else None
    music.generate(args.model, songs_count=args.songs, temperature=args.temperature, seed=args.seed,
                   out_dir=args.out, length=args.length, soundfont=soundfont, batch=args.batch,
                   every_song=args.every_song, seed_text=seed_text)


def _face_data(value):
    if value in ("synthetic", "lfw") or value.endswith((".h5", ".hdf5")):
        return value
    raise UsageError(f"--data must be 'synthetic', 'lfw' or the course's train_face.h5 file, received {value!r}.")


def _cmd_faces_train(args):
    from mit_dl.workflows import faces

    data = _face_data(args.data)
    out = pathlib.Path(args.out) if args.out else _default_run_dir(f"faces-{args.model}")
    print(f"run directory: {out.resolve()} (run the same command again to resume)")
    faces.train(args.model, data, args.preset, steps=args.steps, seed=args.seed, out_dir=out,
                combine=args.combine, precision=args.precision)


def _cmd_faces_evaluate(args):
    from mit_dl.workflows import faces

    report = faces.evaluate_export(args.model, test_faces=args.test_faces)
    low, high = report["accuracy_95ci"]
    print(f"{report['source']} ({report['examples']} images): accuracy {100 * report['accuracy']:.1f}% "
          f"(95% CI {100 * low:.1f}-{100 * high:.1f})")
    print(f"{'group':30s} {'accuracy':>9s} {'95% CI':>13s} {'mean P(face)':>13s}")
    for name, group in report["groups"].items():
        low, high = group["accuracy_95ci"]
        print(f"{name:30s} {100 * group['accuracy']:8.1f}% {100 * low:5.1f}-{100 * high:5.1f}% "
              f"{group['mean_face_probability']:13.3f}")
    print(f"worst face group: {report['worst_face_group']} {100 * report['worst_face_group_accuracy']:.1f}%; "
          f"best - worst group: {100 * report['best_minus_worst']:.1f} points")


def _cmd_faces_compare(args):
    from mit_dl.workflows import faces

    if not args.seeds:
        raise UsageError("--seeds needs at least one seed.")
    out = pathlib.Path(args.out) if args.out else _default_run_dir("faces-compare")
    faces.compare(args.seeds, _face_data(args.data), args.preset, out_dir=out, combine=args.combine,
                  precision=args.precision)
    print(f"run directory: {out.resolve()}")


def _cmd_labs_check(args):
    from mit_dl.labs import runner

    failed = 0
    for path in args.notebooks:
        print(f"running {path} ({'full' if args.full else 'quick'} mode) ...", flush=True)
        report = runner.run_notebook(path, quick=not args.full, workdir=args.workdir, timeout=args.timeout)
        print(report.summary(), flush=True)
        if args.save_executed:
            import nbformat

            out = pathlib.Path(args.save_executed)
            out = out / pathlib.Path(path).name if out.is_dir() else out
            nbformat.write(report.notebook, out)
            print(f"executed notebook: {out}")
        failed += not report.passed
    return 1 if failed else 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="mit-dl", description="MIT 6.S191 companion: lecture layers, labs, training, export."
    )
    parser.add_argument("--version", action="version", version=f"mit_dl {mit_dl.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    info = commands.add_parser("info", help="versions, devices and where data is looked for")
    info.set_defaults(handler=_cmd_info)

    demo = commands.add_parser("demo", help="a short end-to-end run on data available offline")
    demo.add_argument("--out", help="run directory (default: runs/demo-<time>)")
    demo.add_argument("--steps", type=int, default=500, help="training steps per model (default 500)")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(handler=_cmd_demo)

    images = commands.add_parser("images", help="lab 2 part 1: digit and clothing classifiers")
    image_actions = images.add_subparsers(dest="action", metavar="ACTION", required=True)
    train = image_actions.add_parser("train", help="train, evaluate, plot and export a classifier")
    train.add_argument("--dataset", choices=["mnist", "fashion_mnist"], default="fashion_mnist")
    train.add_argument("--model", choices=["dense", "cnn"], default="cnn")
    train.add_argument("--recipe", choices=["course", "cosine"], default="course",
                       help="course: the lab's constant learning rates (default); cosine: higher peak rate "
                            "decayed to zero over the run (README: +1.4 points for the CNN on Fashion-MNIST)")
    train.add_argument("--learning-rate", type=float, metavar="RATE",
                       help="replace the recipe's (peak) learning rate, e.g. to compare rates with --validation")
    train.add_argument("--epochs", type=int, default=5, help="default 5, the course's recipe")
    train.add_argument("--batch-size", type=int, default=64)
    train.add_argument("--data", help="folder with the IDX files (default: $MIT_DL_DATA, caches, download)")
    train.add_argument("--split-test", type=int, metavar="K",
                       help="train on K images of the test split and test on the rest (real MNIST offline)")
    train.add_argument("--validation", type=int, metavar="K",
                       help="hold K training images out and report accuracy on them instead of the test set")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--precision", choices=PRECISION_CHOICES, default="float32", help=PRECISION_HELP)
    train.add_argument("--out", help="run directory (default: runs/images-<dataset>-<model>-<time>)")
    train.set_defaults(handler=_cmd_images_train)
    evaluate = image_actions.add_parser("evaluate", help="accuracy of an exported classifier on a test set")
    evaluate.add_argument("--model", required=True, help="the exported SavedModel folder")
    evaluate.add_argument("--dataset", choices=["mnist", "fashion_mnist"], help="default: from metadata.json")
    evaluate.add_argument("--data", help="folder with the IDX files")
    evaluate.set_defaults(handler=_cmd_images_evaluate)

    music = commands.add_parser("music", help="lab 1 part 2: an LSTM that writes Irish folk tunes")
    music_actions = music.add_subparsers(dest="action", metavar="ACTION", required=True)
    train = music_actions.add_parser("train", help="train, checkpoint and export the song generator")
    train.add_argument("--preset", choices=["quick", "lab"], default="quick",
                       help="quick: ~5 min on 2 CPU cores; lab: the course's LSTM(1024), 3000 steps")
    train.add_argument("--data", help="an .abc file or folder (default: O'Neill's 1850 tunes from music21)")
    train.add_argument("--steps", type=int, help="training steps (default: the preset's)")
    train.add_argument("--sequence-length", type=int,
                       help="characters per training window (default: the preset's, 100)")
    train.add_argument("--batch-size", type=int, help="training windows per step (default: the preset's)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--checkpoint-every", type=int, default=500, help="steps between checkpoints (default 500)")
    train.add_argument("--headers", choices=["musical", "all"], default="musical",
                       help="tune header lines to train on: 'musical' drops book/notes/transcriber lines (B: N: Z: "
                            "and other bibliographic fields), 'all' keeps them (default musical)")
    train.add_argument("--precision", choices=PRECISION_CHOICES, default="float32", help=PRECISION_HELP)
    train.add_argument("--out", help="run directory (default: runs/music-<preset>)")
    train.set_defaults(handler=_cmd_music_train)
    generate = music_actions.add_parser("generate", help="write songs as .abc, .mid and .wav and judge them")
    generate.add_argument("--model", required=True, help="the exported generator (<run>/generator)")
    generate.add_argument("--songs", type=int, default=10, help="samples to draw, one song each (default 10)")
    generate.add_argument("--temperature", type=float, default=1.0)
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--seed-text", help="text every sample starts from, \\n for a new line (default 'X:')")
    generate.add_argument("--length", type=int, help="characters per sample (default: 2x a long training tune)")
    generate.add_argument("--batch", type=int,
                          help="songs per compiled sampler call (default 50; larger batches suit a GPU)")
    generate.add_argument("--soundfont", default="auto",
                          help="a .sf2 file, 'auto' (a system General MIDI soundfont if found) or 'none'")
    generate.add_argument("--every-song", action="store_true",
                          help="also judge each sample's later complete songs (the course plays them all)")
    generate.add_argument("--out", help="output folder (default: <run>/songs-t<T>-s<S>)")
    generate.set_defaults(handler=_cmd_music_generate)

    faces = commands.add_parser("faces", help="lab 2 part 2: face detection and a debiasing VAE (DB-VAE)")
    face_actions = faces.add_subparsers(dest="action", metavar="ACTION", required=True)
    data_help = "synthetic (default: the benchmark with hidden groups), lfw, or the course's train_face.h5"
    preset_help = "quick: ~4,000 synthetic images, 600 steps; full: 8,000 images, 1,500 steps (the README's)"
    combine_help = "how the DB-VAE joins latent dimensions: max (the course's, default) or product (the paper's)"
    train = face_actions.add_parser("train", help="train, evaluate per group, plot and export a face detector")
    train.add_argument("--model", choices=["cnn", "dbvae"], default="dbvae")
    train.add_argument("--data", default="synthetic", help=data_help)
    train.add_argument("--preset", choices=["quick", "full"], default="quick", help=preset_help)
    train.add_argument("--steps", type=int, help="training steps (default: the preset's)")
    train.add_argument("--combine", choices=["max", "product"], default="max", help=combine_help)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--precision", choices=PRECISION_CHOICES, default="float32", help=PRECISION_HELP)
    train.add_argument("--out", help="run directory (default: runs/faces-<model>-<time>)")
    train.set_defaults(handler=_cmd_faces_train)
    evaluate = face_actions.add_parser("evaluate", help="per-group accuracy of an exported face detector")
    evaluate.add_argument("--model", required=True, help="the exported detector (<run>/detector)")
    evaluate.add_argument("--test-faces", help="a folder of test faces, one sub-folder per group "
                                               "(default: the held-out data the detector was trained against)")
    evaluate.set_defaults(handler=_cmd_faces_evaluate)
    compare = face_actions.add_parser("compare", help="train the standard CNN and the DB-VAE on the same data "
                                                      "for each seed; write the table and plots")
    compare.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    compare.add_argument("--data", default="synthetic", help=data_help)
    compare.add_argument("--preset", choices=["quick", "full"], default="full", help=preset_help)
    compare.add_argument("--combine", choices=["max", "product"], default="max", help=combine_help)
    compare.add_argument("--precision", choices=PRECISION_CHOICES, default="float32", help=PRECISION_HELP)
    compare.add_argument("--out", help="run directory (default: runs/faces-compare-<time>)")
    compare.set_defaults(handler=_cmd_faces_compare)

    labs = commands.add_parser("labs", help="the learner notebooks in labs/ and their graders")
    lab_actions = labs.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = lab_actions.add_parser("check", help="run notebooks top to bottom and report every checker "
                                                 "(exit status 1 unless all pass)")
    check.add_argument("notebooks", nargs="+", metavar="NOTEBOOK.ipynb")
    check.add_argument("--full", action="store_true", help="the course's settings instead of quick mode")
    check.add_argument("--workdir", help="run the notebook here, keeping its outputs (default: a temporary folder)")
    check.add_argument("--save-executed", metavar="PATH", help="write the executed notebook (a file or a folder)")
    check.add_argument("--timeout", type=int, default=1800, help="seconds allowed per cell (default 1800)")
    check.set_defaults(handler=_cmd_labs_check)
    return parser


def _expected_runtime_errors():
    """Failures with a one-sentence remedy (diverged training, missing audio pieces)."""
    from mit_dl.music.audio import AudioError
    from mit_dl.training.callbacks import TrainingDiverged

    return AudioError, TrainingDiverged


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        quiet_tensorflow_startup()
        code = args.handler(args)
    except (UsageError, ValueError, FileNotFoundError, *_expected_runtime_errors()) as error:
        print(f"mit-dl: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mit-dl: interrupted", file=sys.stderr)
        return 130
    return code or 0


if __name__ == "__main__":
    sys.exit(main())
