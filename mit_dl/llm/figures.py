"""The LLM lab's figures: the scaling laws on log-log axes, and the fine-tuning methods side by side."""

import numpy as np

from mit_dl import plots


def _law(ax, points, key, fit, label):
    x = np.array([p[key] for p in points], float)
    ax.loglog(x, [p["loss"] for p in points], "o", color="tab:blue", label="runs")
    grid = np.geomspace(x.min(), x.max(), 100)
    ax.loglog(grid, fit["a"] * grid ** -fit["alpha"] + fit["c"], "-", color="black", label=label)
    ax.legend(fontsize=8)


def scaling_plots(metrics, folder):
    """``scaling_size.png`` (loss against weights, with the fit), ``scaling_data.png``, ``scaling_compute.png``.

    Args:
        metrics: `mit_dl.llm.scaling.sweep`'s result.
        folder: where the figures go.

    Returns:
        The three paths.
    """
    size, data = metrics["size_law"], metrics["data_law"]
    fig, ax = plots.figure(figsize=(5.5, 4))
    _law(ax, metrics["sizes"], "weights", size, f"{size['a']:.3g} N^-{size['alpha']:.3f} + {size['c']:.2f}")
    ax.set(xlabel="weights outside the embeddings N", ylabel="held-out loss (nats per token)")
    ax.set_title(f"size at fixed data: alpha {size['alpha']:.3f}, R² {size['r2']:.3f}", fontsize=10)
    paths = [plots.save(fig, folder / "scaling_size.png")]
    fig, ax = plots.figure(figsize=(5.5, 4))
    _law(ax, metrics["data"], "tokens", data, f"{data['a']:.3g} D^-{data['alpha']:.3f} + {data['c']:.2f}")
    ax.set(xlabel="training tokens D", ylabel="held-out loss (nats per token)")
    ax.set_title(f"data at fixed size: exponent {data['alpha']:.3f}", fontsize=10)
    paths.append(plots.save(fig, folder / "scaling_data.png"))
    fig, ax = plots.figure(figsize=(5.5, 4))
    for (budget, family), style in zip(metrics["compute"].items(), ("o-", "s--", "^:")):
        points = sorted(family["points"], key=lambda p: p["weights"])
        ax.semilogx([p["weights"] for p in points], [p["loss"] for p in points], style, label=f"{budget} x C")
        ax.axvline(family["optimal_weights"], color="gray", linewidth=0.6)
    ax.set(xlabel="weights outside the embeddings N", ylabel="held-out loss (nats per token)")
    ax.set_title("iso-compute: C = 6 N D fixed along each curve", fontsize=10)
    ax.legend(fontsize=8)
    paths.append(plots.save(fig, folder / "scaling_compute.png"))
    return paths
