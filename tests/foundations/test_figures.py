"""The foundations figures draw what they are given."""

from mit_dl.foundations import figures, initialisation, landscapes, optimizers


def test_trajectory_and_per_layer_figures(tmp_path):
    paths = {
        "SGD": landscapes.trajectory(optimizers.GradientDescent(0.07), "quadratic", (2.0, 1.0), 30),
        "Adam": landscapes.trajectory(optimizers.Adam(0.1), "quadratic", (2.0, 1.0), 30),
    }
    assert figures.trajectories(paths, "quadratic", tmp_path / "t.png").stat().st_size > 20_000
    series = {
        s: initialisation.signal_and_gradient(s, "tanh", depth=10, width=32)["gradient_variance"]
        for s in ("small", "xavier")
    }
    assert figures.per_layer(series, tmp_path / "v.png", "gradients", "variance").stat().st_size > 15_000
