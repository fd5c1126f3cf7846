"""The foundations lab's figures: trajectories on a surface, variances and gradient norms through depth."""

import numpy as np

from mit_dl import plots
from mit_dl.foundations.landscapes import SURFACES


def trajectories(paths, surface, path, title=None):
    """Optimizer paths over the contours of a surface.

    Args:
        paths: ``{optimizer name: [steps + 1, 2] points}``.
        surface: a key of `mit_dl.foundations.landscapes.SURFACES`.
        path: the PNG file to write.
        title: the figure's title (default: the surface's name).

    Returns:
        ``path`` as a `pathlib.Path`.
    """
    function, minimum = SURFACES[surface]
    points = np.concatenate(list(paths.values()))
    low, high = points.min(0) - 0.5, points.max(0) + 0.5
    xs, ys = np.meshgrid(np.linspace(low[0], high[0], 200), np.linspace(low[1], high[1], 200))
    values = function(xs, ys)
    fig, ax = plots.figure(figsize=(6, 4.5))
    levels = np.quantile(values, np.linspace(0.02, 0.98, 20))
    ax.contour(xs, ys, values, levels=np.unique(levels), colors="lightgray", linewidths=0.7)
    for index, (name, points_of) in enumerate(paths.items()):
        style = ("-", "--", ":", "-.")[index % 4]  # hues far apart survive the site's palette images
        colour = ("black", "tab:blue", "tab:green", "tab:red", "tab:purple", "tab:orange", "tab:cyan")[index % 7]
        ax.plot(*points_of.T, style, color=colour, marker=".", markersize=3, linewidth=1.2, label=name)
    if minimum is not None:
        ax.plot(*minimum, marker="*", color="black", markersize=12, linestyle="none", label="minimum")
    ax.set_title(title or surface, fontsize=10)
    ax.legend(fontsize=8)
    return plots.save(fig, path)


def per_layer(series, path, title, ylabel, xlabel="layer"):
    """Values per layer (or time step) on a log scale, one line per setting.

    Args:
        series: ``{setting: [value per layer]}``.
        path: the PNG file to write.
        title: the figure's title.
        ylabel: what the values are.
        xlabel: ``"layer"`` or ``"time step"``.

    Returns:
        ``path`` as a `pathlib.Path`.
    """
    fig, ax = plots.figure(figsize=(6.5, 4))
    for name, values in series.items():
        values = np.asarray(values, np.float64)
        ax.semilogy(np.arange(1, len(values) + 1), np.clip(values, 1e-300, None), label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return plots.save(fig, path)


def learning_rate_range(found, path):
    """The loss against the learning rate of a range test, one line per optimizer, its pick marked.

    Args:
        found: ``{optimizer: {"rates", "losses", "suggested"}}`` (`experiments.range_test`).
        path: the PNG file to write.

    Returns:
        ``path`` as a `pathlib.Path`.
    """
    fig, ax = plots.figure(figsize=(6.5, 4))
    for name, result in found.items():
        line = ax.semilogx(result["rates"], result["losses"], label=name)[0]
        ax.axvline(result["suggested"], color=line.get_color(), linestyle=":", linewidth=1)
    ax.set_ylim(0, min(5.0, 1.5 * max(float(np.max(r["losses"][:10])) for r in found.values())))
    ax.set_xlabel("learning rate (grows every step)")
    ax.set_ylabel("training loss")
    ax.set_title("learning-rate range test (dotted: a tenth of the lowest loss's rate)", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return plots.save(fig, path)
