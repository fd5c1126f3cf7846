"""The lab's experiments: one setting changed at a time, every variant trained on each seed, one table.

Each experiment writes into its folder the figures, ``metrics.json`` (every run's numbers and
the summaries) and ``table.md``; each trained variant is its own run directory
(``<variant>-s<seed>/``), so running the command again reuses finished runs and resumes the
others (`mit_dl.training.runs.finished_metrics`).

- `optimizers`: the seven optimizers on the valley, the banana and the saddle (trajectories),
  then on Fashion-MNIST with a learning-rate sweep each, compared at their best rate (chosen on
  the validation images of seed 0, then trained on every seed).
- `initialisation`: the variance of activations and gradients through 20 and 50 layers, the
  symmetry problem, and which schemes train a deep MLP, with and without BatchNorm.
- `normalisation`: none / BatchNorm / LayerNorm / GroupNorm on the CNN, and BatchNorm as the
  batch size falls to 2.
- `regularisation`: 1,000 training images: none, L2, dropout, augmentation, early stopping;
  and an L2 penalty against decoupled decay for SGD and Adam.
- `gradients`: gradient norms through a deep sigmoid / ReLU MLP and through time in the
  lecture's RNN and an LSTM; clipping by the global norm.
"""

import json
import pathlib

import numpy as np

from mit_dl import evaluation, plots
from mit_dl.foundations import train
from mit_dl.foundations.config import LEARNING_RATES, OPTIMIZERS
from mit_dl.training.runs import train_variants, write_json

# Multiples of each optimizer's usual learning rate that a sweep tries.
SWEEP = (0.1, 0.3, 1.0, 3.0, 10.0)
QUICK_SWEEP = (0.3, 1.0, 3.0)


def run_variants(base, variants, seeds, out, log=print):
    """Train each variant (``{name: config changes}``) on each seed: its own run directory, no export.

    Args:
        base: the `FoundationsConfig` the variants change.
        variants: ``{name: {field: value}}``.
        seeds: the seeds.
        out: the experiment's folder.
        log: where progress lines go.

    Returns:
        ``{name: [metrics per seed]}``.
    """
    return train_variants(_quiet_train, base, variants, seeds, out, log)


def _quiet_train(config, path):
    return train.train(config, path, export=False, log=lambda line: None)


def summarise(results):
    """Per variant: test and validation accuracy over the seeds, ``(mean, low, high)`` of a 95% interval.

    Args:
        results: `run_variants`' answer.

    Returns:
        ``{name: {"test": (mean, low, high), "validation": (...), "test_values": [...]}}``.
    """
    summary = {}
    for name, runs in results.items():
        test = [r["test"]["accuracy"] for r in runs]
        validation = [r["validation_accuracy"] for r in runs]
        summary[name] = {
            "test": evaluation.seed_interval(test, bounds=(0, 1)),
            "validation": evaluation.seed_interval(validation, bounds=(0, 1)),
            "test_values": test,
            "epochs": [len(r["history"]["loss"]) for r in runs],
        }
    return summary


def _percent(interval):
    mean, low, high = interval
    return f"{100 * mean:.1f}" + ("" if low != low else f" [{100 * low:.1f}, {100 * high:.1f}]")


def accuracy_table(summary, seeds, first_column="variant", extra=None):
    """Markdown: one row per variant, validation and test accuracy ``mean [95% interval]`` over the seeds.

    Args:
        summary: `summarise`'s answer.
        seeds: the seeds.
        first_column: the first column's title.
        extra: ``{title: {name: text}}`` more columns.

    Returns:
        The table's text.
    """
    extra = extra or {}
    seeds_text = ", ".join(map(str, seeds))
    lines = [
        f"Accuracy in % on seeds {seeds_text}: mean [95% interval over the seeds]"
        + (" (one seed: no interval)." if len(seeds) == 1 else "."),
        "",
        f"| {first_column} | " + " | ".join(extra) + (" | " if extra else "") + "validation | test |",
        "|---|" + "---|" * (len(extra) + 2),
    ]
    for name, row in summary.items():
        cells = [extra[title].get(name, "-") for title in extra]
        lines.append(
            f"| {name} | " + "".join(f"{c} | " for c in cells) + f"{_percent(row['validation'])} | "
            f"{_percent(row['test'])} |"
        )
    return "\n".join(lines) + "\n"


def write_results(out, name, metrics, table):
    """``metrics.json`` and ``table.md`` of an experiment; the table is printed too.

    Args:
        out: the experiment's folder.
        name: the experiment's name.
        metrics: what it measured (JSON-able).
        table: its Markdown table.

    Returns:
        ``metrics``.
    """
    out = pathlib.Path(out)
    write_json(out / "metrics.json", {"experiment": name, **json.loads(json.dumps(metrics, default=_plain))})
    (out / "table.md").write_text(table)
    print(table)
    return metrics


def _plain(value):
    """NumPy numbers and arrays as JSON numbers and lists."""
    return value.tolist() if hasattr(value, "tolist") else str(value)


def sweep_rates(optimizer, quick):
    """The learning rates a sweep tries for ``optimizer``.

    Args:
        optimizer: a name of `OPTIMIZERS`.
        quick: the quick sweep's three rates instead of five.

    Returns:
        A tuple of rates, smallest first.
    """
    return tuple(float(f"{LEARNING_RATES[optimizer] * m:.3g}") for m in (QUICK_SWEEP if quick else SWEEP))


def best_rates(base, out, quick, log=print):
    """Each optimizer's best learning rate on seed 0's validation images.

    Args:
        base: the `FoundationsConfig` trained.
        out: the experiment's folder.
        quick: sweep three rates instead of five.
        log: where progress lines go.

    Returns:
        ``({optimizer: best rate}, {optimizer: {rate: validation accuracy}})``.
    """
    best, sweeps = {}, {}
    for optimizer in OPTIMIZERS:
        variants = {
            f"{optimizer}-lr{rate:g}": {"optimizer": optimizer, "learning_rate": rate}
            for rate in sweep_rates(optimizer, quick)
        }
        results = run_variants(base, variants, [0], out, log)
        scores = {variants[name]["learning_rate"]: runs[0]["validation_accuracy"] for name, runs in results.items()}
        sweeps[optimizer] = scores
        best[optimizer] = max(scores, key=lambda rate: (np.nan_to_num(scores[rate], nan=-1.0), -rate))
    return best, sweeps


def curves(results, path, title):
    """Validation loss per epoch of seed 0 of each variant (over-fitting shows as a rising curve).

    Args:
        results: `run_variants`' answer.
        path: the PNG file.
        title: the figure's title.

    Returns:
        ``path``.
    """
    fig, ax = plots.figure(figsize=(6.5, 4))
    for name, runs in results.items():
        history = runs[0]["history"]
        epochs = np.arange(1, len(history["loss"]) + 1)
        line = ax.plot(epochs, history["validation_loss"], label=f"{name} (validation)")[0]
        ax.plot(epochs, history["loss"], linestyle=":", color=line.get_color())
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (dotted: training)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return plots.save(fig, path)


def accuracy_bars(summary, path, title, xlabel="variant"):
    """Test accuracy per variant with its interval over the seeds.

    Args:
        summary: `summarise`'s answer.
        path: the PNG file.
        title: the figure's title.
        xlabel: what the variants are.

    Returns:
        ``path``.
    """
    names = list(summary)
    means = np.array([summary[n]["test"][0] for n in names])
    lows = np.array([summary[n]["test"][1] for n in names])
    highs = np.array([summary[n]["test"][2] for n in names])
    errors = np.nan_to_num(np.stack([means - lows, highs - means]))
    fig, ax = plots.figure(figsize=(max(5.0, 0.9 * len(names)), 3.8))
    ax.bar(names, 100 * means, yerr=100 * errors, capsize=3, color="tab:blue")
    for index, mean in enumerate(means):
        ax.text(index, 100 * mean, f"{100 * mean:.1f}", ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("test accuracy (%)")
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    return plots.save(fig, path)
