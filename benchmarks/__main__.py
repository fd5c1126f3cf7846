"""Every benchmark in one command: one JSON and one Markdown table, ratios side by side.

Run: python -m benchmarks [--quick] [--device cpu|gpu] [--only layers,music] [--out DIR] [--full-steps N]

The benchmarks are the shared ones (`layers`, `training`) and each registered
lab's (`mit_dl.registry`, ``Lab.benchmark``), in course order. Each runs in
its own process (as ``python -m benchmarks.<name>`` would), alternating its
contenders as it always does, and writes its JSON; this command then asks
each module for its ``headline(results)`` rows and writes

- ``summary.json``: the machine, the versions, the date, the mode, every row
  (ours, the baseline, their values, the ratio: above 1 ours is better) and
  each benchmark's wall time;
- ``summary.md``: the same as one Markdown table.

``--quick`` runs each benchmark with its module's ``QUICK`` arguments (small
sizes, few repeats; under 3 minutes on a 2-core AVX-512 machine) into ``runs/benchmarks-quick/``,
so that a quick run never replaces the figures the docs quote
(``benchmarks/results/``). ``--device gpu`` refuses to start without a visible
GPU, and also times ``--full-steps`` steps of every lab's ``full`` preset
through its own ``train`` command (the time of a run of twice as many steps
minus that of one run, per step: start-up, compilation and export cancel
out), so that one call on a GPU machine gives every GPU figure.
``--device cpu`` hides any GPU from the benchmarks.
"""

import argparse
import dataclasses
import importlib
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

from benchmarks import timing

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED = ("layers", "training")  # the benchmarks of the shared engine and layers, before the labs'
# The config field that counts a lab's training, and the few steps a --device gpu run times.
STEP_FIELDS = {"steps": 20, "env_steps": 20_000, "epochs": 1}
CLI = "import sys; from mit_dl.cli import main; sys.exit(main())"


def benchmark_names():
    """The shared benchmarks, then each registered lab's, each once, in course order.

    Returns:
        Module names under ``benchmarks/``.
    """
    from mit_dl import registry

    names = list(SHARED)
    for lab in registry.labs():
        if lab.benchmark and lab.benchmark not in names:
            names.append(lab.benchmark)
    return names


def run_benchmark(name, quick, out, env):
    """Run ``python -m benchmarks.<name>`` in its own process and read the results it wrote.

    Args:
        name: the module's name.
        quick: pass the module's ``QUICK`` arguments.
        out: the results folder (``$MIT_DL_BENCH_RESULTS`` of the child).
        env: the child's environment.

    Returns:
        ``{"name", "seconds", "rows"}``, or ``{"name", "seconds", "error"}`` when it failed.
    """
    module = importlib.import_module(f"benchmarks.{name}")
    command = [sys.executable, "-m", f"benchmarks.{name}", *(module.QUICK if quick else [])]
    print(f"== {name}: {' '.join(command[1:])}", flush=True)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env={**env, "MIT_DL_BENCH_RESULTS": str(out)}, text=True)
    seconds = round(time.perf_counter() - started, 1)
    if done.returncode != 0:
        return {"name": name, "seconds": seconds, "error": f"exited with status {done.returncode}"}
    results = json.loads((out / f"{name}.json").read_text())
    return {"name": name, "seconds": seconds, "rows": module.headline(results)}


def step_field(config_class):
    """The field of a train config that counts its training, and how much of it a timing runs.

    Args:
        config_class: a lab's train config class.

    Returns:
        ``(field, amount)``, or None when the config has none of `STEP_FIELDS`.
    """
    fields = {field.name for field in dataclasses.fields(config_class)}
    return next(((name, amount) for name, amount in STEP_FIELDS.items() if name in fields), None)


def _timed_train(lab, field, amount, out, env):
    flag = "--" + field.replace("_", "-")
    command = [sys.executable, "-c", CLI, lab.name, "train", "--preset", "full", *lab.full_preset_args]
    command += [flag, str(amount), "--out", str(out)]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise RuntimeError(lines[-1] if lines else f"exited with status {done.returncode}")
    return time.perf_counter() - started


def time_full_presets(steps_scale, env, labs=None):
    """Seconds per step of every lab's ``full`` preset: a run of ``2n`` steps minus a run of ``n``, over ``n``.

    Args:
        steps_scale: multiplies each field's `STEP_FIELDS` amount (``--full-steps`` / 20).
        env: the runs' environment.
        labs: lab names to time (default: every lab with a full preset).

    Returns:
        A list of ``{"lab", "field", "amount", "seconds_per_unit"}`` or ``{"lab", "error"}``.
    """
    from mit_dl import registry

    timings = []
    for lab in registry.labs():
        train = lab.command("train")
        found = step_field(train.config)
        if "full" not in train.preset_names() or found is None or (labs and lab.name not in labs):
            continue
        field, amount = found[0], max(1, round(found[1] * steps_scale))
        print(f"== {lab.name} full preset: {amount} and {2 * amount} {field}", flush=True)
        with tempfile.TemporaryDirectory() as work:
            try:
                once = _timed_train(lab, field, amount, pathlib.Path(work) / "once", env)
                twice = _timed_train(lab, field, 2 * amount, pathlib.Path(work) / "twice", env)
            except RuntimeError as error:
                timings.append({"lab": lab.name, "error": str(error)})
                continue
        timings.append(
            {"lab": lab.name, "field": field, "amount": amount, "seconds_per_unit": max(twice - once, 0.0) / amount}
        )
    return timings


def machine(device):
    """The machine in words: CPU cores, the GPU when one is used, Python and library versions.

    Args:
        device: ``"cpu"`` or ``"gpu"``.

    Returns:
        A dict.
    """
    import tensorflow as tf

    found = {**timing.machine(), "device": device}
    if device == "gpu":
        gpus = tf.config.list_physical_devices("GPU")
        found["gpu"] = tf.config.experimental.get_device_details(gpus[0]).get("device_name", gpus[0].name)
    return found


def markdown(summary):
    """The summary as Markdown: the machine, one table of ratios, the full presets' step times.

    Args:
        summary: what `main` writes to ``summary.json``.

    Returns:
        The Markdown text.
    """
    m = summary["machine"]
    lines = [
        f"Benchmarks ({summary['mode']}), {m['date']}: {m['cpu']}"
        + (f", {m['gpu']}" if m.get("gpu") else "")
        + f", TensorFlow {m['tensorflow']}, Keras {m['keras']}, Python {m['python']}.",
        "",
        "| benchmark | comparison | ours | baseline | unit | ours: value | baseline: value | ours better by |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for part in summary["benchmarks"]:
        if "error" in part:
            lines.append(f"| {part['name']} | failed: {part['error']} | | | | | | |")
        for row in part.get("rows", []):
            lines.append(
                f"| {part['name']} | {row['comparison']} | {row['ours']} | {row['baseline']} | {row['unit']} | "
                f"{row['ours_value']:.4g} | {row['baseline_value']:.4g} | {row['ratio']:.2f}x |"
            )
    if summary.get("full_presets"):
        lines += ["", "| lab | full preset: seconds per | seconds |", "|---|---|---|"]
        for entry in summary["full_presets"]:
            if "error" in entry:
                lines.append(f"| {entry['lab']} | failed: {entry['error']} | |")
            else:
                lines.append(f"| {entry['lab']} | {entry['field'].rstrip('s')} | {entry['seconds_per_unit']:.4g} |")
    return "\n".join(lines) + "\n"


def _gpu_visible():
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def parse(argv):
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and few repeats (minutes)")
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu", help="where to run (default: cpu)")
    parser.add_argument("--only", help="comma-separated benchmark names (default: all)")
    parser.add_argument("--out", help="results folder (default: benchmarks/results, or runs/benchmarks-quick)")
    parser.add_argument(
        "--full-steps", type=int, default=20, help="--device gpu: steps of each full preset timed (default: 20)"
    )
    return parser.parse_args(argv)


def main(argv=None):
    """Run the benchmarks, write ``summary.json`` and ``summary.md``, print the table.

    Args:
        argv: the arguments (default: the command line's).

    Returns:
        The exit status: 0, or 1 when a benchmark failed.
    """
    from mit_dl.environment import quiet_tensorflow_startup

    args = parse(argv)
    names = benchmark_names()
    if args.only:
        unknown = sorted(set(args.only.split(",")) - set(names))
        if unknown:
            raise SystemExit(f"python -m benchmarks: unknown benchmarks {unknown}; choose among {', '.join(names)}")
        names = [name for name in names if name in args.only.split(",")]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    if args.device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    quiet_tensorflow_startup()
    if args.device == "gpu" and not _gpu_visible():
        raise SystemExit("python -m benchmarks: --device gpu but TensorFlow sees no GPU; run it on a GPU machine")
    default = ROOT / ("runs/benchmarks-quick" if args.quick else "benchmarks/results")
    out = pathlib.Path(args.out) if args.out else default
    out.mkdir(parents=True, exist_ok=True)
    summary = {"mode": "quick" if args.quick else "full", "machine": machine(args.device), "benchmarks": []}
    for name in names:
        summary["benchmarks"].append(run_benchmark(name, args.quick, out, env))
    if args.device == "gpu":
        summary["full_presets"] = time_full_presets(args.full_steps / 20, env)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    table = markdown(summary)
    (out / "summary.md").write_text(table)
    print(table + f"written {out / 'summary.json'} and {out / 'summary.md'}")
    return 1 if any("error" in part for part in summary["benchmarks"]) else 0


if __name__ == "__main__":
    sys.exit(main())
