"""Scaling laws (CSC413 §11): held-out loss against model size, data and compute, and the fitted power laws.

Kaplan et al. 2020 found the loss of a language model falling as a power
of its size ``N`` (weights outside the embeddings) when data does not
limit it, ``L(N) = a N^(-alpha) + c``, and likewise of the tokens ``D`` it
trained on; Hoffmann et al. 2022 ("Chinchilla") asked which size is best
for a compute budget ``C = 6 N D``. `sweep` trains the lab's GPT

- at `SIZES` (widths and depths spanning over 30x in ``N``) on the same tokens,
- at one size on growing shares of the steps (`DATA_SHARES`),
- on an iso-compute family: three budgets, several sizes each, the steps
  set so that ``6 N D = C``; the compute-optimal size of each budget is the
  minimum of a parabola fitted to loss against ``log N``,

and fits the power laws in log space (`fit_power_law`), with a bootstrap
interval for the exponent. Every trained point is a run directory under
the sweep's folder, so a sweep run again reuses the points it has.
"""

import json
import math

import numpy as np

from mit_dl.llm.config import GPTConfig
from mit_dl.training.runs import finished_or_trained

# (width, blocks): non-embedding weights from about 3 thousand to 0.8 million.
SIZES = ((16, 1), (32, 1), (32, 2), (64, 2), (96, 3), (128, 4))
DATA_SHARES = (0.125, 0.25, 0.5, 1.0)
DATA_SIZE = (64, 2)
COMPUTE_SIZES = ((32, 1), (48, 2), (64, 2), (96, 3))
# Budgets as shares of C = 6 N D of the (64, 2) model at the sweep's steps: each size trains C / (6 N D_step) steps.
COMPUTE_BUDGETS = (0.25, 0.5, 1.0)
COMPUTE_REFERENCE = (64, 2)
# The published exponents of L(N) and L(D), for comparison (N: weights without embeddings; D: tokens).
PUBLISHED = {"Kaplan et al. 2020": {"N": 0.076, "D": 0.095}, "Hoffmann et al. 2022": {"N": 0.34, "D": 0.28}}


def non_embedding_weights(d_model, num_layers):
    """Kaplan's ``N``: the blocks' weights (``12 d^2`` per block plus biases and norms).

    Args:
        d_model: the width.
        num_layers: the blocks.

    Returns:
        An int.
    """
    d = d_model
    return num_layers * (4 * d * d + 4 * d + 8 * d * d + 4 * d + d + 4 * d)


def point_config(config, width, blocks, steps):
    """The sweep's config for one point: the base config at another width, depth and step count.

    Args:
        config: the sweep's `GPTConfig`.
        width: ``d_model`` (heads of 16 dimensions).
        blocks: ``num_layers``.
        steps: training steps.

    Returns:
        A `GPTConfig`.
    """
    return config.replace(
        d_model=width,
        num_heads=max(1, width // 16),
        num_layers=blocks,
        ff_dim=4 * width,
        steps=max(1, int(steps)),
        warmup_steps=min(config.warmup_steps, max(0, int(steps) // 10)),
    )


def _train_point(config, out, seed):
    from mit_dl.llm.train import train

    folder = out / f"d{config.d_model}-l{config.num_layers}-s{config.steps}-seed{seed}"
    metrics = finished_or_trained(
        lambda c, p: train(c, p, export=False, baseline=False, log=lambda *_: None), config.replace(seed=seed), folder
    )
    return {
        "width": config.d_model,
        "blocks": config.num_layers,
        "steps": config.steps,
        "seed": seed,
        "weights": non_embedding_weights(config.d_model, config.num_layers),
        "tokens": config.steps * config.batch_size * config.context,
        "loss": metrics["held_out"]["cross_entropy"],
    }


def train_sizes(config, out, sizes=SIZES, seeds=(0,)):
    """Train the config's GPT at each ``(width, blocks)`` for the config's steps: the size family.

    Args:
        config: the `GPTConfig` every point starts from.
        out: the folder of the points' run directories.
        sizes: ``(width, blocks)`` pairs.
        seeds: seeds of each size.

    Returns:
        ``[{"width", "blocks", "steps", "seed", "weights", "tokens", "loss"}]``.
    """
    import pathlib

    return [
        _train_point(point_config(config, w, b, config.steps), pathlib.Path(out), s) for w, b in sizes for s in seeds
    ]


def fit_power_law(x, loss, resamples=1000, seed=0):
    """Fit ``loss = a x^(-alpha) + c`` (``c >= 0``) in log space, with a bootstrap interval for ``alpha``.

    The squared error is taken between ``log loss`` and the log of the fit,
    so every point counts alike whatever its loss. The bootstrap refits the
    law to points drawn with replacement.

    Args:
        x: sizes (weights or tokens), positive.
        loss: held-out losses, positive.
        resamples: bootstrap draws.
        seed: the bootstrap's seed.

    Returns:
        ``{"a", "alpha", "c", "r2", "alpha_95ci"}``; ``r2`` is the fit's R² of ``log loss``.

    Examples:
        >>> x = np.array([1e3, 3e3, 1e4, 3e4, 1e5])
        >>> fit = fit_power_law(x, 5 * x**-0.3 + 1.5, resamples=50)
        >>> round(fit["alpha"], 3), round(fit["c"], 3), fit["r2"] > 0.999
        (0.3, 1.5, True)
    """
    x, loss = np.asarray(x, float), np.asarray(loss, float)
    fit = _fit(x, loss)
    predicted = np.log(fit[0] * x ** -fit[1] + fit[2])
    residual = np.sum((np.log(loss) - predicted) ** 2)
    total = np.sum((np.log(loss) - np.log(loss).mean()) ** 2)
    rng = np.random.default_rng(seed)
    alphas = []
    for _ in range(resamples):
        pick = rng.integers(0, len(x), len(x))
        if len(set(x[pick])) >= 3:
            alphas.append(_fit(x[pick], loss[pick])[1])
    low, high = np.percentile(alphas, [2.5, 97.5]) if alphas else (math.nan, math.nan)
    return {
        "a": float(fit[0]),
        "alpha": float(fit[1]),
        "c": float(fit[2]),
        "r2": float(1 - residual / total) if total > 0 else 1.0,
        "alpha_95ci": [float(low), float(high)],
    }


def _fit(x, loss):
    """Least squares in log space over ``(log a, alpha, log c)``, from a few starting exponents."""
    from scipy.optimize import least_squares

    def residuals(theta):
        log_a, alpha, log_c = theta
        return np.log(np.exp(log_a) * x**-alpha + np.exp(log_c)) - np.log(loss)

    best = None
    for alpha in (0.05, 0.2, 0.5, 1.0):
        start = [np.log(max(loss.max() - loss.min(), 1e-3)) + alpha * np.log(x.min()), alpha, np.log(loss.min() / 2)]
        result = least_squares(residuals, start, bounds=([-50, 0, -20], [50, 5, np.log(loss.min())]))
        if best is None or result.cost < best.cost:
            best = result
    log_a, alpha, log_c = best.x
    return np.exp(log_a), alpha, np.exp(log_c)


def compute_optimal(points):
    """The size of least loss for one compute budget: the vertex of a parabola in ``log N``.

    Args:
        points: ``[{"weights", "loss"}]`` trained at one budget (at least 3 sizes).

    Returns:
        The compute-optimal ``N`` (clipped to the sizes tried).
    """
    log_n = np.log([p["weights"] for p in points])
    losses = [p["loss"] for p in points]
    curve, slope, _ = np.polyfit(log_n, losses, 2)
    if curve <= 0:
        return float(np.exp(log_n[int(np.argmin(losses))]))
    return float(np.exp(np.clip(-slope / (2 * curve), log_n.min(), log_n.max())))


def sweep(config=None, out="runs/llm-scaling", seeds=(0,), sizes=SIZES, shares=DATA_SHARES, budgets=COMPUTE_BUDGETS):
    """Train the three families, fit the laws, write ``metrics.json``, ``table.md`` and the figures.

    Args:
        config: the `GPTConfig` every point starts from (its corpus, context, batch and steps).
        out: the sweep's folder.
        seeds: seeds of each point.
        sizes: ``(width, blocks)`` of the size family.
        shares: shares of the steps of the data family.
        budgets: shares of the iso-compute family's largest budget (`COMPUTE_REFERENCE` at the sweep's steps).

    Returns:
        The metrics.
    """
    import pathlib

    from mit_dl.llm import figures

    config = config or GPTConfig.from_preset("quick")
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    size_points = train_sizes(config, out, sizes, seeds)
    data_points = [
        _train_point(point_config(config, *DATA_SIZE, config.steps * share), out, s) for share in shares for s in seeds
    ]
    largest = non_embedding_weights(*COMPUTE_REFERENCE) * config.steps
    compute = {}
    for budget in budgets:
        compute[budget] = [
            _train_point(point_config(config, w, b, budget * largest / non_embedding_weights(w, b)), out, s)
            for w, b in COMPUTE_SIZES
            for s in seeds
        ]
    metrics = {
        "sizes": size_points,
        "size_law": fit_power_law([p["weights"] for p in size_points], [p["loss"] for p in size_points]),
        "data": data_points,
        "data_law": fit_power_law([p["tokens"] for p in data_points], [p["loss"] for p in data_points]),
        "compute": {str(b): {"points": pts, "optimal_weights": compute_optimal(pts)} for b, pts in compute.items()},
        "published_alpha": PUBLISHED,
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    (out / "table.md").write_text(scaling_table(metrics) + "\n")
    figures.scaling_plots(metrics, out)
    return metrics


def scaling_table(metrics):
    """The fitted exponents beside the published ones, as Markdown.

    Args:
        metrics: `sweep`'s result.

    Returns:
        The table's text.
    """
    size, data = metrics["size_law"], metrics["data_law"]
    rows = [
        "| law | exponent | 95% interval | R² (log space) | irreducible c |",
        "|---|---|---|---|---|",
        f"| L(N), {len(metrics['sizes'])} runs | {size['alpha']:.3f} | {size['alpha_95ci'][0]:.3f}-"
        f"{size['alpha_95ci'][1]:.3f} | {size['r2']:.3f} | {size['c']:.2f} |",
        f"| L(D), {len(metrics['data'])} runs | {data['alpha']:.3f} | {data['alpha_95ci'][0]:.3f}-"
        f"{data['alpha_95ci'][1]:.3f} | {data['r2']:.3f} | {data['c']:.2f} |",
    ]
    rows += [
        f"| {name}: L(N), L(D) (up to 10^9 weights, 10^11 tokens, web text) | {law['N']}, {law['D']} | | | |"
        for name, law in PUBLISHED.items()
    ]
    return "\n".join(rows)
