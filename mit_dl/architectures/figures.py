"""The lab's figures: the degradation curves (He et al. 2016, figure 1) from runs over seeds."""

import numpy as np

from mit_dl import plots


def degradation_curves(results, path):
    """Training loss and test error per epoch, plain (dashed) against residual (solid), by depth; mean over seeds.

    Args:
        results: ``{network: [metrics per seed]}`` with each run's ``history``.
        path: the PNG to write.
    """
    fig, axes = plots.figure(1, 2, figsize=(10, 3.8))
    colours = {}
    for name, runs in results.items():
        depth = name.removeprefix("plain").removeprefix("resnet")
        colour = colours.setdefault(depth, f"C{len(colours)}")
        style = "--" if name.startswith("plain") else "-"
        for axis, values in zip(
            axes,
            (
                [r["history"]["loss"] for r in runs],
                [100 * (1 - np.asarray(r["history"]["test_accuracy"])) for r in runs],
            ),
        ):
            values = np.asarray(values, np.float64)
            epochs = np.arange(1, values.shape[1] + 1)
            axis.plot(epochs, values.mean(0), style, color=colour, label=name)
            axis.fill_between(epochs, values.min(0), values.max(0), color=colour, alpha=0.12)
            axis.set_xticks(epochs)
    axes[0].set(title="training loss", xlabel="epoch")
    axes[1].set(title="test error (%)", xlabel="epoch")
    axes[0].legend(fontsize=8)
    fig.suptitle("plain (dashed) vs residual (solid): mean over seeds, band = min-max")
    plots.save(fig, path)
