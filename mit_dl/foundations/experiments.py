"""The five experiments of ``mit-dl foundations optimizers|init|norm|regularise|gradients``.

Each takes the base `FoundationsConfig` (its preset sets the budget: ``quick`` or ``full``),
the seeds and a folder, and returns what `compare.write_results` wrote there. The trained
variants change one setting of the base at a time (`compare.run_variants`).
"""

import keras
import numpy as np

from mit_dl.foundations import compare, data, figures, gradients, initialisation, landscapes, model, regularisation
from mit_dl.foundations.config import OPTIMIZERS

# (start, steps, {optimizer: learning rate}) per surface: each optimizer at a rate that is stable there.
LANDSCAPES = {
    "quadratic": (
        (2.0, 1.0),
        100,
        {"sgd": 0.07, "momentum": 0.02, "nesterov": 0.02, "adagrad": 0.5, "rmsprop": 0.05, "adam": 0.1, "adamw": 0.1},
    ),
    "rosenbrock": (
        (-1.5, 2.0),
        400,
        {"sgd": 1e-3, "momentum": 2e-4, "nesterov": 2e-4, "adagrad": 0.5, "rmsprop": 0.01, "adam": 0.05, "adamw": 0.05},
    ),
    "saddle": (
        (1.0, 1e-3),
        60,
        {"sgd": 0.05, "momentum": 0.02, "nesterov": 0.02, "adagrad": 0.1, "rmsprop": 0.01, "adam": 0.05, "adamw": 0.05},
    ),
}


# The depth of the init experiment's tanh MLP: 20 layers in the quick form, 50 in the full one.
INIT_DEPTH = {"quick": 20, "full": 50}


def _optimizer(name, rate):
    """The lab's optimizer ``name`` at ``rate`` (AdamW with Keras' decay)."""
    return model.build_optimizer(_Rate(name, rate))


class _Rate:
    """The two things `model.build_optimizer` reads of a config."""

    def __init__(self, optimizer, rate):
        self.optimizer, self._rate = optimizer, rate

    def rate(self):
        return self._rate

    def decay(self):
        return 0.004 if self.optimizer == "adamw" else 0.0


def surfaces(out, names=OPTIMIZERS, which=tuple(LANDSCAPES)):
    """Each optimizer's path on each surface; the final loss and distance to the minimum.

    Args:
        out: the folder of the figures.
        names: the optimizers (default: all seven).
        which: the surfaces (default: all three).

    Returns:
        ``{surface: {optimizer: {"rate", "final_value", "distance"}}}``.
    """
    measured = {}
    for surface in which:
        (start, steps, rates), (function, minimum) = LANDSCAPES[surface], landscapes.SURFACES[surface]
        paths = {name: landscapes.trajectory(_optimizer(name, rates[name]), surface, start, steps) for name in names}
        figures.trajectories(paths, surface, out / f"{surface}.png", title=f"{surface}: {steps} steps")
        measured[surface] = {
            name: {
                "rate": rates[name],
                "final_value": float(function(*path[-1])),
                "distance": None if minimum is None else float(np.hypot(*(path[-1] - np.asarray(minimum)))),
            }
            for name, path in paths.items()
        }
    return measured


def optimizers(base, seeds, out, log=print):
    """Optimizers on the surfaces, then on Fashion-MNIST at each one's best swept learning rate.

    Args:
        base: the `FoundationsConfig` every variant starts from.
        seeds: the seeds of the final comparison.
        out: the experiment's folder.
        log: where progress lines go.

    Returns:
        The metrics written.
    """
    on_surfaces = surfaces(out)
    ranges = range_test(base, out)
    best, sweeps = compare.best_rates(base, out, quick=base.preset == "quick", log=log)
    variants = {f"{name}-lr{rate:g}": {"optimizer": name, "learning_rate": rate} for name, rate in best.items()}
    summary = compare.summarise(compare.run_variants(base, variants, seeds, out, log))
    compare.accuracy_bars(summary, out / "accuracy.png", "each optimizer at its best learning rate", "optimizer")
    swept = {name: ", ".join(f"{r:g}: {100 * a:.1f}" for r, a in sweeps[name].items()) for name in OPTIMIZERS}
    table = compare.accuracy_table(
        summary,
        seeds,
        "optimizer at its best rate",
        {"sweep (rate: validation % of seed 0)": dict(zip(variants, swept.values()))},
    )
    table += (
        "\nLearning-rate range test (seed 0's network, 200 steps from 1e-5 to 10): "
        + ", ".join(
            f"{name}: lowest loss at {r['lowest']:.2g}, a tenth of it {r['suggested']:.2g} "
            f"(the sweep's best {best[name]:g})"
            for name, r in ranges.items()
        )
        + ".\n"
    )
    metrics = {"surfaces": on_surfaces, "range_test": ranges, "sweeps": sweeps, "best_rates": best, "summary": summary}
    return compare.write_results(out, "optimizers", metrics, table)


def range_test(base, out, names=("sgd", "adam"), steps=200):
    """The learning-rate range test of ``base``'s network with each optimizer of ``names``; one figure.

    The rate grows from 1e-5 to 10 over ``steps`` training batches (`landscapes.learning_rate_range`); the
    usual pick is a tenth of the rate where the smoothed loss is lowest.

    Args:
        base: the `FoundationsConfig` whose network and training images are used (its seed).
        out: the folder of ``lr_range.png``.
        names: the optimizers.
        steps: batches, one rate each.

    Returns:
        ``{optimizer: {"rates", "losses", "lowest", "suggested"}}``.
    """
    splits, _ = data.load_data(base)
    batches = list(data.pipelines(base, splits)["train"].repeat().take(steps))
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    found = {}
    for name in names:
        keras.utils.set_random_seed(base.seed)
        rates, losses = landscapes.learning_rate_range(
            model.build_classifier(base), loss, batches, _optimizer(name, 1e-5)
        )
        smooth = np.convolve(losses, np.ones(9) / 9, mode="valid")  # a centred mean of 9 steps
        lowest = float(rates[4 + int(np.argmin(smooth))])
        found[name] = {"rates": rates, "losses": losses, "lowest": lowest, "suggested": lowest / 10}
    figures.learning_rate_range(found, out / "lr_range.png")
    return found


def _variances(out, depths=(20, 50)):
    """Activation and gradient variance per layer for every scheme, tanh and ReLU; one figure per measure."""
    measured = {}
    for activation in ("tanh", "relu"):
        for depth in depths:
            series = {
                s: initialisation.signal_and_gradient(s, activation, depth=depth, width=128, batch=256)
                for s in initialisation.SCHEMES
                if s != "zeros"
            }
            measured[f"{activation}-{depth}"] = series
            for measure in ("activation_variance", "gradient_variance"):
                figures.per_layer(
                    {s: v[measure] for s, v in series.items()},
                    out / f"{measure}-{activation}-{depth}.png",
                    f"{measure.replace('_', ' ')} per layer at initialisation, {depth} {activation} layers",
                    measure.replace("_", " "),
                )
    return measured


def initialisation_experiment(base, seeds, out, log=print):
    """Variances through depth, the symmetry problem, and which schemes train a deep tanh MLP.

    Args:
        base: the `FoundationsConfig` every variant starts from (its preset sets the depth, `INIT_DEPTH`).
        seeds: the seeds.
        out: the experiment's folder.
        log: where progress lines go.

    Returns:
        The metrics written.
    """
    variances = _variances(out)
    symmetry = {s: initialisation.symmetry_after_training(s) for s in ("zeros", "xavier")}
    deep = base.replace(model="mlp", activation="tanh", width=64, depth=INIT_DEPTH.get(base.preset, 20))
    variants = {
        f"{scheme}-{norm}": {"init": scheme, "norm": norm}
        for norm in ("none", "batch")
        for scheme in initialisation.SCHEMES
    }
    summary = compare.summarise(compare.run_variants(deep, variants, seeds, out, log))
    compare.accuracy_bars(summary, out / "accuracy.png", f"{deep.depth} tanh layers: scheme-normalisation", "variant")
    table = compare.accuracy_table(summary, seeds, f"initialisation-normalisation ({deep.depth} tanh layers)")
    table += (
        "\nSymmetry (2-layer tanh MLP, 200 steps): "
        + ", ".join(
            f"{s}: {r['distinct_units']} of 16 hidden units differ, accuracy {100 * r['accuracy']:.0f}%"
            for s, r in symmetry.items()
        )
        + "\n"
    )
    metrics = {"variances": variances, "symmetry": symmetry, "summary": summary, "depth": deep.depth}
    return compare.write_results(out, "init", metrics, table)


def normalisation_experiment(base, seeds, out, log=print, batch_sizes=(2, 8, 32, 128)):
    """None / BatchNorm / LayerNorm / GroupNorm on the CNN; BatchNorm and GroupNorm as the batch shrinks.

    Args:
        base: the `FoundationsConfig` every variant starts from.
        seeds: the seeds.
        out: the experiment's folder.
        log: where progress lines go.
        batch_sizes: the batch sizes of the second part.

    Returns:
        The metrics written.
    """
    cnn = base.replace(model="cnn")
    norms = {norm: {"norm": norm} for norm in ("none", "batch", "layer", "group")}
    summary = compare.summarise(compare.run_variants(cnn, norms, seeds, out, log))
    small = cnn.replace(train_images=min(cnn.train_images or 55000, 2000), epochs=1)
    by_batch = {
        f"{norm}-b{size}": {"norm": norm, "batch_size": size} for norm in ("batch", "group") for size in batch_sizes
    }
    batch_summary = compare.summarise(compare.run_variants(small, by_batch, seeds, out, log))
    compare.accuracy_bars(summary, out / "accuracy.png", "the CNN with each normalisation", "normalisation")
    compare.accuracy_bars(
        batch_summary,
        out / "batch_size.png",
        f"{small.train_images} images, 1 epoch: normalisation-batch size",
        "variant",
    )
    table = compare.accuracy_table(summary, seeds, "normalisation (CNN)")
    table += "\n" + compare.accuracy_table(
        batch_summary, seeds, f"normalisation-batch size ({small.train_images} images, 1 epoch)"
    )
    return compare.write_results(out, "norm", {"summary": summary, "batch_sizes": batch_summary}, table)


def regularisation_experiment(base, seeds, out, log=print):
    """1,000 training images: none, L2, dropout, augmentation, early stopping; penalty against decay.

    Args:
        base: the `FoundationsConfig` every variant starts from (its ``train_images`` is set to 1,000).
        seeds: the seeds.
        out: the experiment's folder.
        log: where progress lines go.

    Returns:
        The metrics written.
    """
    small = base.replace(train_images=1000, epochs=base.epochs * 8, width=256)
    variants = {
        "none": {},
        "l2": {"l2": 1e-3},
        "dropout": {"dropout": 0.5},
        "augment": {"augment": True},
        "early stopping": {"patience": 3},
    }
    results = compare.run_variants(small, variants, seeds, out, log)
    summary = compare.summarise(results)
    compare.curves(results, out / "curves.png", f"1,000 training images, {small.epochs} epochs (seed {seeds[0]})")
    compare.accuracy_bars(summary, out / "accuracy.png", "1,000 training images: each regulariser", "regulariser")
    gaps = {kind: regularisation.penalty_versus_decay(kind) for kind in ("sgd", "adam")}
    stopped = {"early stopping": ", ".join(str(e) for e in summary["early stopping"]["epochs"])}
    losses = {name: _best_and_last_loss(runs) for name, runs in results.items()}
    columns = {"epochs run": stopped, "validation loss: best, last (mean of seeds)": losses}
    table = compare.accuracy_table(summary, seeds, "regulariser (1,000 images)", columns)
    table += (
        f"\nL2 penalty vs decoupled decay (lambda 0.1, 200 steps on a linear model): largest weight "
        f"difference {gaps['sgd']:.1e} with SGD, {gaps['adam']:.3f} with Adam.\n"
    )
    return compare.write_results(out, "regularise", {"summary": summary, "penalty_vs_decay": gaps}, table)


def _best_and_last_loss(runs):
    """``"0.562, 0.631"``: the lowest and the last validation loss, mean of the seeds (over-fitting: last > best)."""
    best = np.mean([min(r["history"]["validation_loss"]) for r in runs])
    last = np.mean([r["history"]["validation_loss"][-1] for r in runs])
    return f"{best:.3f}, {last:.3f}"


def gradients_experiment(base, seeds, out, log=print):
    """Gradient norms through 20 layers and through 50 time steps; clipping by the global norm.

    Args:
        base: unused (nothing is trained on images); kept for one signature.
        seeds: the seeds (norms are averaged over them).
        out: the experiment's folder.
        log: where progress lines go.

    Returns:
        The metrics written.
    """
    layers = {
        a: np.mean([gradients.per_layer(20, activation=a, seed=s) for s in seeds], axis=0).tolist()
        for a in ("sigmoid", "tanh", "relu")
    }
    steps = {c: np.mean([gradients.per_time_step(c, seed=s) for s in seeds], axis=0).tolist() for c in ("rnn", "lstm")}
    figures.per_layer(layers, out / "per_layer.png", "gradient norm per layer, 20 Dense layers (Glorot)", "||dL/dW||")
    figures.per_layer(
        steps,
        out / "per_time_step.png",
        "gradient of the last output per input step, 50 steps",
        "||dL/dx_t||",
        xlabel="time step",
    )
    clipped, norm = gradients.clip_by_global_norm([np.full(4, 3.0), np.full(9, 4.0)], 1.0)
    lines = ["| network | first / last | first | last |", "|---|---|---|---|"]
    for name, values in {**layers, **steps}.items():
        lines.append(f"| {name} | {values[0] / values[-1]:.1e} | {values[0]:.2e} | {values[-1]:.2e} |")
    table = "\n".join(lines) + f"\n\nClipping a gradient of global norm {norm:.1f} to 1: norm after "
    table += f"{float(np.sqrt(sum((c**2).sum() for c in clipped))):.3f}, direction kept.\n"
    return compare.write_results(out, "gradients", {"per_layer": layers, "per_time_step": steps}, table)


EXPERIMENTS = {
    "optimizers": optimizers,
    "init": initialisation_experiment,
    "norm": normalisation_experiment,
    "regularise": regularisation_experiment,
    "gradients": gradients_experiment,
}
