"""The `mit-dl` command: `--version`, `info`, `demo`, `<lab> train|...` for every lab, `labs check`.

The lab commands' options are built from the labs' config dataclasses: one
flag per field (``rnn_units`` -> ``--rnn-units``) with the field's
documentation as help, its choices, and the preset's value as default, so
the command line and the library cannot drift apart. The library raises
errors in terms of its own parameter names; this module shows them as
flags. Only the project's expected errors (`mit_dl.errors.MitDLError`) become
one line; anything else is a bug and keeps its traceback.

The labs are imported inside the handlers: ``mit-dl --help`` and
``mit-dl --version`` then answer without loading TensorFlow (measured on 2
CPU cores: 0.1 s, against 4.1 s with the three lab workflows imported).
"""

import argparse
import dataclasses
import datetime
import os
import pathlib
import sys

import mit_dl
from mit_dl.config import field_type
from mit_dl.environment import quiet_tensorflow_startup
from mit_dl.errors import ConfigError, MitDLError, RunMismatch, TrainingInterrupted
from mit_dl.faces.config import FacesConfig
from mit_dl.generative.config import GenerativeConfig
from mit_dl.images.config import DATASETS, ImagesConfig
from mit_dl.music.config import GenerationConfig, MusicConfig
from mit_dl.rl.config import RLConfig
from mit_dl.uncertainty.config import BiasConfig, UncertaintyConfig
from mit_dl.vision.config import ATTACK_EPSILONS, EXPLAIN_METHODS, VisionConfig

INTERRUPTED = 130


def _default_run_dir(name):
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return pathlib.Path("runs") / f"{name}-{stamp}"


def flag(name):
    """A parameter's command-line spelling.

    Args:
        name: a config field's name.

    Returns:
        The flag: ``rnn_units`` -> ``--rnn-units``.
    """
    return "--" + name.replace("_", "-")


def _default_text(config_class, name, presets):
    """``"1024"``, or ``"256 in quick, 1024 in lab"`` when the presets differ."""
    if presets:
        shown = {preset: getattr(config_class.from_preset(preset), name) for preset in presets}
    else:
        shown = {"": getattr(config_class(), name)}
    if len(set(map(repr, shown.values()))) == 1:
        value = next(iter(shown.values()))
        return "none" if value is None else str(value)
    return ", ".join(f"{value} in {preset}" for preset, value in shown.items())


_METAVARS = {int: "N", float: "X", str: "TEXT"}


def add_config_options(parser, config_class, exclude=(), presets=None):
    """Add one option per field of ``config_class`` to ``parser`` (see the module docstring).

    Args:
        parser: an `argparse` (sub)parser.
        config_class: a config dataclass; each field's ``help`` becomes the option's help.
        exclude: fields that get no option.
        presets: preset names for ``--preset`` (default the class's own).

    Returns:
        ``{field: flag}`` of the options added.
    """
    if presets is None:
        presets = config_class.preset_names() if hasattr(config_class, "preset_names") else ()
    flags = {}
    for field in dataclasses.fields(config_class):
        if field.name in exclude or field.name == "preset":
            continue
        kind = field_type(config_class, field.name)
        help_text = field.metadata["help"]
        if "(default:" not in help_text:
            help_text += f" (default: {_default_text(config_class, field.name, presets)})"
        if kind is bool:
            parser.add_argument(
                flag(field.name), dest=field.name, action=argparse.BooleanOptionalAction, default=None, help=help_text
            )
        else:
            parser.add_argument(
                flag(field.name),
                dest=field.name,
                type=kind,
                default=None,
                choices=field.metadata.get("choices"),
                help=help_text,
                metavar=None if field.metadata.get("choices") else _METAVARS.get(kind, "TEXT"),
            )
        flags[field.name] = flag(field.name)
    return flags


def config_from(args, config_class, **fixed):
    """The config the options ask for: the chosen preset with every given option applied.

    Args:
        args: the parsed `argparse` namespace (its ``flags`` name the config options).
        config_class: the lab's config dataclass.
        **fixed: values the command sets itself (e.g. ``model``).

    Returns:
        The validated config.
    """
    given = {name: getattr(args, name) for name in args.flags if getattr(args, name) is not None}
    preset = getattr(args, "preset", None) or config_class.preset_names()[0]
    return config_class.from_preset(preset, **given, **fixed)


def _out(args, default):
    return pathlib.Path(args.out) if args.out else default


def _cmd_info(args):
    from mit_dl import environment

    print(environment.report())


def _cmd_demo(args):
    from mit_dl import demo

    out = _out(args, _default_run_dir("demo"))
    print(f"mit_dl {mit_dl.__version__} demo: lecture layers on real Irish folk tunes")
    demo.run(out, steps=args.steps, seed=args.seed)
    print(f"run directory: {out.resolve()}")


def _cmd_images_train(args):
    from mit_dl.images import workflow

    config = config_from(args, ImagesConfig)
    workflow.train(config, _out(args, _default_run_dir(f"images-{config.dataset}-{config.model}")))


def _cmd_images_evaluate(args):
    from mit_dl.images import workflow

    report = workflow.evaluate_export(args.model, dataset=args.dataset, data_dir=args.data)
    low, high = report["accuracy_95ci"]
    print(
        f"{report['dataset']} test set ({report['examples']} images, {report['source']}): "
        f"accuracy {100 * report['accuracy']:.2f}% (95% CI {100 * low:.2f}-{100 * high:.2f})"
    )
    for name, accuracy in report["per_class_accuracy"].items():
        print(f"  {name:12s} {100 * accuracy:6.2f}%")


def _cmd_vision_train(args):
    from mit_dl.vision import workflow

    config = config_from(args, VisionConfig)
    workflow.train(config, _out(args, _default_run_dir(f"vision-{config.dataset}-{config.model}")))


def _cmd_vision_evaluate(args):
    from mit_dl.vision import workflow

    report = workflow.evaluate_export(args.model, args.dataset, args.scenes, args.seed, args.data)
    print(
        f"{report['dataset']} test scenes ({args.scenes}, seed {args.seed}, from {report['source']}): "
        f"{report['summary']}"
    )
    per_class = report["class_iou"] if report["task"] == "segmentation" else report["class_ap_50"]
    measure = "IoU" if report["task"] == "segmentation" else "AP@0.5"
    for name, value in per_class.items():
        print(f"  {name:12s} {measure} {value:.3f}")


def _cmd_music_train(args):
    from mit_dl.music import workflow

    config = config_from(args, MusicConfig)
    name = f"music-{config.preset}" if config.model == "lstm" else f"music-{config.model}-{config.preset}"
    workflow.train(config, _out(args, pathlib.Path("runs") / name))


def _cmd_music_compare(args):
    from mit_dl.music import workflow

    if len(args.songs) != len(args.seeds):
        raise ConfigError("songs", f"needs one count per seed ({len(args.seeds)} seeds), received {len(args.songs)}")
    workflow.compare(args.models, args.seeds, args.songs, args.temperatures, args.out, length=args.length)


def _cmd_music_generate(args):
    from mit_dl.music import workflow

    given = {name: getattr(args, name) for name in args.flags if getattr(args, name) is not None}
    if "seed_text" in given:
        given["seed_text"] = given["seed_text"].replace("\\n", "\n")
    workflow.generate(args.model, GenerationConfig(**given), out_dir=args.out)


def _cmd_faces_train(args):
    from mit_dl.faces import workflow

    config = config_from(args, FacesConfig)
    workflow.train(config, _out(args, _default_run_dir(f"faces-{config.model}")))


def _cmd_faces_evaluate(args):
    from mit_dl.faces import workflow

    report = workflow.evaluate_export(args.model, test_faces=args.test_faces)
    low, high = report["accuracy_95ci"]
    print(
        f"{report['source']} ({report['examples']} images): accuracy {100 * report['accuracy']:.1f}% "
        f"(95% CI {100 * low:.1f}-{100 * high:.1f})"
    )
    print(f"{'group':30s} {'accuracy':>9s} {'95% CI':>13s} {'mean P(face)':>13s}")
    for name, group in report["groups"].items():
        low, high = group["accuracy_95ci"]
        print(
            f"{name:30s} {100 * group['accuracy']:8.1f}% {100 * low:5.1f}-{100 * high:5.1f}% "
            f"{group['mean_face_probability']:13.3f}"
        )
    print(
        f"worst face group: {report['worst_face_group']} {100 * report['worst_face_group_accuracy']:.1f}%; "
        f"best - worst group: {100 * report['best_minus_worst']:.1f} points"
    )


def _cmd_faces_compare(args):
    from mit_dl.faces import workflow

    out = _out(args, _default_run_dir("faces-compare"))
    models = tuple(args.models) if args.models else tuple(workflow.COMPARED)
    workflow.compare(config_from(args, FacesConfig), seeds=args.seeds, models=models, out_dir=out)
    print(f"run directory: {out.resolve()}")


def _cmd_generative_train(args):
    from mit_dl.generative import workflow

    config = config_from(args, GenerativeConfig)
    workflow.train(config, _out(args, _default_run_dir(f"generative-{config.model}-{config.dataset}")))


def _cmd_rl_train(args):
    from mit_dl.rl import workflow

    config = config_from(args, RLConfig)
    workflow.train(config, _out(args, _default_run_dir(f"rl-{config.agent}-{config.env}")))


def _cmd_rl_play(args):
    from mit_dl.rl import workflow

    result = workflow.play(args.model, episodes=args.episodes, video=args.video, seed=args.seed)
    print("returns: " + " ".join(f"{r:g}" for r in result["returns"]))
    print(
        f"mean return {result['mean_return']:.1f} ± {result['std_return']:.1f} over {len(result['returns'])} episodes"
    )
    if result.get("video"):
        print(f"video of the first episode: {result['video']}")


def _cmd_uncertainty_train(args):
    config = config_from(args, UncertaintyConfig)  # a bad setting fails before TensorFlow loads
    from mit_dl.uncertainty import workflow

    workflow.train(config, _out(args, _default_run_dir(f"uncertainty-{config.method}-{config.task}")))


def _cmd_uncertainty_evaluate(args):
    from mit_dl.uncertainty import workflow
    from mit_dl.uncertainty.scores import SCORES

    report = workflow.evaluate(args.model, ood=args.ood, out=args.out, data_dir=args.data)
    c, scaled = report["calibration"], report["temperature_scaled"]["calibration"]
    print(f"{report['method']} export on the Fashion-MNIST test set; out of distribution: {report['ood_set']} test")
    print(f"{'':22s} {'accuracy':>9s} {'NLL':>7s} {'Brier':>7s} {'ECE':>7s} {'ECE 95% CI':>14s}")
    for name, row in (("as trained", c), (f"temperature {report['temperature']:.2f}", scaled)):
        low, high = row["ece_95ci"]
        print(
            f"{name:22s} {100 * row['accuracy']:8.2f}% {row['nll']:7.3f} {row['brier']:7.4f} "
            f"{100 * row['ece']:6.2f}% {100 * low:6.2f}-{100 * high:5.2f}%"
        )
    print(f"{'OOD score':28s} {'AUROC':>7s} {'95% CI':>13s} {'AUPR':>7s}")
    for name, row in report["ood"].items():
        low, high = row["auroc_95ci"]
        print(f"{SCORES[name]:28s} {row['auroc']:7.3f} {low:.3f}-{high:.3f} {row['aupr']:7.3f}")
    print(f"metrics, reliability diagrams and score histograms in {report['folder']}")


def _cmd_uncertainty_bias(args):
    config = config_from(args, BiasConfig)
    from mit_dl.uncertainty import workflow

    out = _out(args, _default_run_dir("uncertainty-bias"))
    workflow.bias(config, out)
    print(f"run directory: {out.resolve()}")


def _cmd_generative_sample(args):
    from mit_dl.generative import workflow

    result = workflow.sample(args.model, count=args.count, label=args.label, seed=args.seed, out_dir=args.out)
    print(f"{len(result['images'])} images: {result['folder'] / 'samples.png'} and samples.npz")


def _cmd_generative_evaluate(args):
    from mit_dl.generative import workflow

    report = workflow.evaluate_export(args.model, count=args.count, data_dir=args.data, out=args.out)
    print(
        f"{report['model']} on {report['dataset']}: {report['quality']['count']} samples "
        "against as many held-out images"
    )
    print(f"feature classifier: {100 * report['classifier']['accuracy']:.1f}% on the held-out images")
    print(f"{'set':22s} {'FD':>9s} {'KID':>16s} {'1-NN acc':>9s} {'KL to uniform':>14s}")
    rows = {"samples": report["quality"], **{f"ref: {k}": v for k, v in report["references"].items()}}
    for name, row in rows.items():
        print(
            f"{name:22s} {row['fd']:9.3f} {row['kid']:8.4f} ± {row['kid_standard_error']:.4f} "
            f"{row['one_nn_accuracy']:9.3f} {row['coverage']['kl_to_uniform']:14.3f}"
        )
    if "class_accuracy" in report["quality"]:
        print(f"requested class found: {100 * report['quality']['class_accuracy']:.2f}%")
    if report.get("mode_collapse"):
        print(report["mode_collapse"])


def _cmd_labs_check(args):
    import nbformat

    from mit_dl.labs import runner

    failed = 0
    for path in args.notebooks:
        print(f"running {path} ({'full' if args.full else 'quick'} mode) ...", flush=True)
        report = runner.run_notebook(path, quick=not args.full, workdir=args.workdir, timeout=args.timeout)
        print(report.summary(), flush=True)
        if args.save_executed:
            out = pathlib.Path(args.save_executed)
            out = out / pathlib.Path(path).name if out.is_dir() else out
            nbformat.write(report.notebook, out)
            print(f"executed notebook: {out}")
        failed += not report.passed
    return 1 if failed else 0


def _lab_command(
    actions, name, help_text, handler, config_class=None, exclude=(), presets=None, preset_help=None, shown_presets=None
):
    """A lab action whose options come from ``config_class``; ``--preset`` when the config has several.

    ``preset_help`` (name -> sentence) describes presets that are not a
    classmethod of the config; ``shown_presets`` are the presets whose values
    the options' help quotes (default all of ``presets``).
    """
    # argparse %-formats a sub-command's help (written with %%) but prints its description as it is.
    command = actions.add_parser(name, help=help_text, description=help_text.replace("%%", "%"))
    flags = {}
    if config_class is not None:
        names = presets or config_class.preset_names()
        if len(names) > 1:
            helps = preset_help or {}
            described = "; ".join(f"{p}: {helps.get(p) or _summary(getattr(config_class, p).__doc__)}" for p in names)
            command.add_argument(
                "--preset",
                choices=names,
                default=names[0],
                help=f"the values the other options start from ({described}; default {names[0]})",
            )
        flags = add_config_options(command, config_class, exclude, shown_presets or names)
    command.set_defaults(handler=handler, flags=flags)
    return command


def _summary(docstring):
    """The first line of a docstring, without its full stop."""
    return (docstring or "").strip().split("\n")[0].rstrip(".")


def _first_lower(text):
    text = (text or "").strip().rstrip(".")
    return text[:1].lower() + text[1:]


def _music_commands(commands):
    music = commands.add_parser("music", help="lab 1 part 2: an LSTM or a transformer that writes Irish folk tunes")
    actions = music.add_subparsers(dest="action", metavar="ACTION", required=True)
    train = _lab_command(
        actions,
        "train",
        "train, checkpoint and export the song generator",
        _cmd_music_train,
        MusicConfig,
        presets=("quick", "lab", "lab-aligned", "full"),
        preset_help={
            "quick": "an LSTM(256), about 5 minutes on 2 CPU cores; with --model transformer, 3 blocks of "
            "width 128 over 256 characters, about 10 minutes",
            "lab-aligned": "the course's LSTM with half of the windows starting at a tune's X: line",
            "full": "--model transformer only: 4 blocks of width 256 over 512 characters",
        },
        shown_presets=("quick", "lab"),
    )
    train.add_argument("--out", help="run directory (default: runs/music-<preset>, runs/music-transformer-<preset>)")
    compare = actions.add_parser(
        "compare",
        help="judge several exported generators with the same seeds and write one table",
        description="Sample the same seeds from each exported generator, judge the first song of each "
        "sample and write compare.json and compare.md (trains nothing).",
    )
    compare.add_argument("--models", nargs="+", required=True, help="the generator exports (<run>/generator)")
    compare.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="sampling seeds (default: 0 1 2)")
    compare.add_argument(
        "--songs", nargs="+", type=int, default=[50, 100, 100], help="samples per seed (default: 50 100 100)"
    )
    compare.add_argument(
        "--temperatures", nargs="+", type=float, default=[1.0], help="sampling temperatures (default: 1.0)"
    )
    compare.add_argument("--length", type=int, help="characters per sample (default: twice a long training tune)")
    compare.add_argument("--out", default="runs/music-compare", help="output folder (default: runs/music-compare)")
    compare.set_defaults(handler=_cmd_music_compare, flags={"songs": "--songs"})
    generate = _lab_command(
        actions, "generate", "write songs as .abc, .mid and .wav and judge them", _cmd_music_generate
    )
    generate.set_defaults(flags=add_config_options(generate, GenerationConfig))
    generate.add_argument("--model", required=True, help="the exported generator (<run>/generator)")
    generate.add_argument("--out", help="output folder (default: <run>/songs-t<T>-s<S>)")


def _images_commands(commands):
    images = commands.add_parser("images", help="lab 2 part 1: digit and clothing classifiers")
    actions = images.add_subparsers(dest="action", metavar="ACTION", required=True)
    train = _lab_command(
        actions, "train", "train, evaluate, plot and export a classifier", _cmd_images_train, ImagesConfig
    )
    train.add_argument("--out", help="run directory (default: runs/images-<dataset>-<model>-<time>)")
    evaluate = _lab_command(
        actions, "evaluate", "accuracy of an exported classifier on a test set", _cmd_images_evaluate
    )
    evaluate.add_argument("--model", required=True, help="the exported SavedModel folder (<run>/saved_model)")
    evaluate.add_argument(
        "--dataset",
        choices=DATASETS,
        help="the test set (default: the one the export's metadata.json names)",
    )
    evaluate.add_argument("--data", help="folder with the IDX files (default: $MIT_DL_DATA, caches, download)")


def _faces_commands(commands):
    faces = commands.add_parser("faces", help="lab 2 part 2: face detection and a debiasing VAE (DB-VAE)")
    actions = faces.add_subparsers(dest="action", metavar="ACTION", required=True)
    train = _lab_command(
        actions,
        "train",
        "train, evaluate per group, plot and export a face detector",
        _cmd_faces_train,
        FacesConfig,
        presets=("quick", "full"),
    )
    train.add_argument("--out", help="run directory (default: runs/faces-<model>-<time>)")
    evaluate = _lab_command(actions, "evaluate", "per-group accuracy of an exported face detector", _cmd_faces_evaluate)
    evaluate.add_argument("--model", required=True, help="the exported detector (<run>/detector)")
    evaluate.add_argument(
        "--test-faces",
        help="a folder of test faces, one sub-folder per group (default: the "
        "held-out data the detector was trained against)",
    )
    compare = _lab_command(
        actions,
        "compare",
        "train the standard CNN, both DB-VAE rules, the reweighting baseline and the oracle for each seed; "
        "write one table with 95%% intervals over the seeds",
        _cmd_faces_compare,
        FacesConfig,
        exclude=("model", "seed", "combine"),
        presets=("full", "quick"),
    )
    compare.add_argument(
        "--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="seeds to train (default 0 1 2 3 4)"
    )
    compare.add_argument(
        "--models",
        nargs="+",
        default=None,
        help="some of cnn dbvae-max dbvae-product reweighted oracle (default: all)",
    )
    compare.add_argument("--out", help="run directory (default: runs/faces-compare-<time>)")


def _generative_commands(commands):
    generative = commands.add_parser(
        "generative", help="lecture 4: VAE, beta-VAE, conditional VAE, DCGAN, conditional GAN, WGAN-GP"
    )
    actions = generative.add_subparsers(dest="action", metavar="ACTION", required=True)
    train = _lab_command(
        actions,
        "train",
        "train a generative model; write samples, figures, quality scores and the export",
        _cmd_generative_train,
        GenerativeConfig,
    )
    train.add_argument("--out", help="run directory (default: runs/generative-<model>-<dataset>-<time>)")
    sample = _lab_command(actions, "sample", "draw images from an exported generator", _cmd_generative_sample)
    sample.add_argument("--model", required=True, help="the exported generator (<run>/generator)")
    sample.add_argument("--count", type=int, default=64, help="images to draw (default 64)")
    sample.add_argument("--label", type=int, help="draw this class (conditional models: cvae, cgan)")
    sample.add_argument("--seed", type=int, default=0, help="the draw's seed (default 0)")
    sample.add_argument("--out", help="output folder (default: <run>/samples-s<seed>)")
    evaluate = _lab_command(
        actions,
        "evaluate",
        "score an exported generator's samples against held-out images and the reference sets",
        _cmd_generative_evaluate,
    )
    evaluate.add_argument("--model", required=True, help="the exported generator (<run>/generator)")
    evaluate.add_argument("--count", type=int, help="samples scored (default: the run's evaluation count)")
    evaluate.add_argument("--data", help="folder with the IDX files (default: $MIT_DL_DATA, caches, download)")
    evaluate.add_argument("--out", help="the JSON report (default: <run>/evaluation.json)")


def _rl_commands(commands):
    rl = commands.add_parser(
        "rl", help="lecture 6: DQN, REINFORCE and actor-critic on CartPole; Pong by policy gradient"
    )
    actions = rl.add_subparsers(dest="action", metavar="ACTION", required=True)
    train = _lab_command(
        actions,
        "train",
        "train an agent; evaluate its greedy policy on gymnasium, plot its returns, export and film it",
        _cmd_rl_train,
        RLConfig,
    )
    train.add_argument("--out", help="run directory (default: runs/rl-<agent>-<env>-<time>)")
    play = _lab_command(actions, "play", "play gymnasium episodes with an exported policy", _cmd_rl_play)
    play.add_argument("--model", required=True, help="the exported policy (<run>/policy)")
    play.add_argument("--episodes", type=int, default=10, help="episodes to play (default 10)")
    play.add_argument("--video", help="write the first episode as this animated GIF")
    play.add_argument("--seed", type=int, default=10_000, help="the first episode's seed (default 10000)")


def _uncertainty_commands(commands):
    uncertainty = commands.add_parser(
        "uncertainty", help="lecture 5: aleatoric and epistemic uncertainty, calibration, out-of-distribution inputs"
    )
    actions = uncertainty.add_subparsers(dest="action", metavar="ACTION", required=True)
    train = _lab_command(
        actions,
        "train",
        "train a wrapped model; measure calibration and OOD detection (or the regression bands), plot, export",
        _cmd_uncertainty_train,
        UncertaintyConfig,
    )
    train.add_argument("--out", help="run directory (default: runs/uncertainty-<method>-<task>-<time>)")
    evaluate = _lab_command(
        actions,
        "evaluate",
        "calibration and OOD detection of an exported classifier: metrics JSON, reliability diagrams, histograms",
        _cmd_uncertainty_evaluate,
    )
    evaluate.add_argument("--model", required=True, help="the exported classifier (<run>/saved_model)")
    evaluate.add_argument("--ood", choices=("mnist",), default="mnist", help="the out-of-distribution test set")
    bias = _lab_command(
        actions,
        "bias",
        "score the faces benchmark's training faces by a VAE and its latent histograms: AUROC of rare vs common groups",
        _cmd_uncertainty_bias,
        BiasConfig,
    )
    bias.add_argument("--out", help="run directory (default: runs/uncertainty-bias-<time>)")
    evaluate.add_argument("--data", help="folder with the IDX files (default: $MIT_DL_DATA, caches, download)")
    evaluate.add_argument("--out", help="output folder (default: the run directory, <run>/evaluation.json)")


def _cmd_vision_explain(args):
    from mit_dl.vision import workflow

    report = workflow.explain(args.model, args.method, args.images, args.out, args.layer, args.export)
    print(f"attribution maps of {len(report['classes'])} test images: {report['figure']}")
    for i, (true, predicted) in enumerate(zip(report["classes"], report["predicted"])):
        print(f"  {i}: true {true}, model {predicted}")
    for method, checks in report["methods"].items():
        gap = checks.get("completeness_gap")
        complete = f"; completeness gap at most {100 * max(abs(g) for g in gap):.2f}%" if gap else ""
        print(
            f"{method}: sanity check (Adebayo et al. 2018, the weights randomised) rank correlation "
            f"{checks['sanity']['mean']:.2f} (near 1: the map ignores what the model learned){complete}"
        )
    if "export" in report:
        print(f"exported explain(images uint8, classes) -> maps: {report['export']}")


def _cmd_vision_attack(args):
    from mit_dl.vision import workflow

    report = workflow.attack(args.model, args.method, args.epsilons, args.images, args.out, args.steps)
    print(f"{args.method.upper()} on {report['images']} test images; accuracy at each epsilon (pixel units of 0-255):")
    epsilons = next(iter(report["runs"].values()))["epsilon"]
    print("  " + " ".join(f"{e:>7g}" for e in epsilons) + "   run")
    for run, curve in report["runs"].items():
        print("  " + " ".join(f"{100 * a:6.1f}%" for a in curve["accuracy"]) + f"   {run}")
    print(f"figure: {report['figure']}")


def _cmd_vision_features(args):
    from mit_dl.vision import workflow

    for name, path in workflow.feature_figures(args.model, args.out, args.image).items():
        print(f"{name}: {path}")


def _vision_commands(commands):
    vision = commands.add_parser(
        "vision", help="lecture 3 beyond classification: segmentation and detection in composed scenes"
    )
    actions = vision.add_subparsers(dest="action", metavar="ACTION", required=True)
    train = _lab_command(
        actions,
        "train",
        "train, evaluate, plot and export a scene segmenter or detector",
        _cmd_vision_train,
        VisionConfig,
        preset_help={
            "quick": "a first look in minutes on 2 CPU cores",
            "full": "20,000 scenes, 4x the filters, twice the batch, 8x the steps (a GPU's run)",
        },
    )
    train.add_argument("--out", help="run directory (default: runs/vision-<dataset>-<model>-<time>)")
    evaluate = _lab_command(
        actions, "evaluate", "mIoU of an exported segmenter, or mAP of a detector, on test scenes", _cmd_vision_evaluate
    )
    evaluate.add_argument("--model", required=True, help="the exported SavedModel folder (<run>/saved_model)")
    evaluate.add_argument(
        "--dataset", choices=("mnist", "fashion_mnist"), help="whose test scenes (default: the export's)"
    )
    evaluate.add_argument("--scenes", type=int, default=1000, help="test scenes to compose (default 1000)")
    evaluate.add_argument("--seed", type=int, default=0, help="the scenes' seed (default 0: the run's test scenes)")
    evaluate.add_argument("--data", help="folder with the IDX files (default: $MIT_DL_DATA, caches, download)")
    run_help = "a run directory: an images run (the classifier) or a vision segmentation run"
    explain = _lab_command(
        actions, "explain", "attribution maps of a trained CNN's test images, with their checks", _cmd_vision_explain
    )
    explain.add_argument("--model", required=True, help=run_help)
    explain.add_argument(
        "--method", nargs="+", choices=EXPLAIN_METHODS, default=["saliency"], help="attribution methods (one or more)"
    )
    explain.add_argument("--images", type=int, default=8, help="test images explained (default 8)")
    explain.add_argument("--layer", help="Grad-CAM's layer (default: the last convolution)")
    explain.add_argument("--export", help="also export explain(images uint8, classes) -> maps to this folder")
    explain.add_argument("--out", help="folder of the figure and report (default: the run directory)")
    attack = _lab_command(
        actions,
        "attack",
        "accuracy of trained classifiers on adversarial test images at each epsilon",
        _cmd_vision_attack,
    )
    attack.add_argument("--model", required=True, nargs="+", help="images run directories, compared in one figure")
    attack.add_argument("--method", choices=("fgsm", "pgd"), default="fgsm", help="the attack")
    attack.add_argument(
        "--epsilons",
        type=float,
        nargs="+",
        default=list(ATTACK_EPSILONS),
        help="radii in pixel units of 0-255 (25.5 is 0.1 of the range)",
    )
    attack.add_argument("--images", type=int, default=1000, help="test images attacked (default 1000)")
    attack.add_argument("--steps", type=int, default=10, help="PGD's steps (default 10)")
    attack.add_argument("--out", help="folder of the figure and report (default: the first run directory)")
    feature = _lab_command(
        actions,
        "features",
        "a trained CNN's first-layer filters and its activations for one image",
        _cmd_vision_features,
    )
    feature.add_argument("--model", required=True, help=run_help)
    feature.add_argument("--image", type=int, default=0, help="which test image (default 0)")
    feature.add_argument("--out", help="folder of the figures (default: the run directory)")


def build_parser():
    """The `mit-dl` command's parser: one sub-command per lab action, options built from the configs.

    Returns:
        An `argparse.ArgumentParser`.
    """
    parser = argparse.ArgumentParser(
        prog="mit-dl", description="MIT 6.S191 companion: lecture layers, labs, training, export."
    )
    parser.add_argument("--version", action="version", version=f"mit_dl {mit_dl.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    info = commands.add_parser("info", help="versions, devices and where data is looked for")
    info.set_defaults(handler=_cmd_info, flags={})

    demo = commands.add_parser("demo", help="a short end-to-end run on data available offline")
    demo.add_argument("--out", help="run directory (default: runs/demo-<time>)")
    demo.add_argument("--steps", type=int, default=500, help="training steps per model (default 500)")
    demo.add_argument("--seed", type=int, default=0, help="random seed of every model and sample (default 0)")
    demo.set_defaults(handler=_cmd_demo, flags={})

    _images_commands(commands)
    _music_commands(commands)
    _faces_commands(commands)
    _generative_commands(commands)
    _rl_commands(commands)
    _uncertainty_commands(commands)
    _vision_commands(commands)

    labs = commands.add_parser("labs", help="the learner notebooks in labs/ and their graders")
    lab_actions = labs.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = lab_actions.add_parser(
        "check", help="run notebooks top to bottom and report every checker (exit status 1 unless all pass)"
    )
    check.add_argument("notebooks", nargs="+", metavar="NOTEBOOK.ipynb")
    check.add_argument("--full", action="store_true", help="the course's settings instead of quick mode")
    check.add_argument("--workdir", help="run the notebook here, keeping its outputs (default: a temporary folder)")
    check.add_argument("--save-executed", metavar="PATH", help="write the executed notebook (a file or a folder)")
    check.add_argument("--timeout", type=int, default=1800, help="seconds allowed per cell (default 1800)")
    check.set_defaults(handler=_cmd_labs_check, flags={})
    return parser


def error_line(error, flags):
    """An expected error as the command line shows it: parameter names as their flags.

    Args:
        error: a `mit_dl.errors.MitDLError`.
        flags: ``{field: flag}`` of the command's options.

    Returns:
        One line of text.
    """

    def shown(name):
        if name == "data_source":
            name = "data"
        return flags.get(name, flag(name) if name in _ALWAYS_FLAGS else name)

    if isinstance(error, ConfigError):
        return f"{shown(error.field)} {error.problem}."
    if isinstance(error, RunMismatch):
        return str(error.with_names(shown))
    return str(error)


# Parameters that are options of some command even where they are not config fields.
_ALWAYS_FLAGS = {"steps", "seed", "seeds", "models", "test_faces", "dataset", "data", "model", "out", "count", "label"}


def main(argv=None):
    """Run `mit-dl` with ``argv`` (default the process's arguments).

    Expected errors print one line and exit 2; an interrupted run exits 130
    after saying how to resume; bugs keep their traceback.

    Args:
        argv: the arguments after ``mit-dl``.

    Returns:
        The exit status.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        quiet_tensorflow_startup()
        code = args.handler(args)
    except TrainingInterrupted as error:
        print(f"mit-dl: {error}" + ("; run the same command to resume." if error.saved else ""), file=sys.stderr)
        return INTERRUPTED
    except MitDLError as error:
        print(f"mit-dl: error: {error_line(error, args.flags)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mit-dl: interrupted", file=sys.stderr)
        return INTERRUPTED
    return code or 0


if __name__ == "__main__":
    sys.exit(main())
