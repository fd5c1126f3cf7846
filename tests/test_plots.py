"""Figures that say what they cannot show."""

import matplotlib

from mit_dl import plots

matplotlib.use("Agg")


def test_curves_of_one_point_each_label_their_values_and_say_the_run_was_short(tmp_path, monkeypatch):
    titles = []
    real_figure = plots.figure

    def recording_figure(*args, **kwargs):
        fig, ax = real_figure(*args, **kwargs)
        original = ax.set_title
        ax.set_title = lambda text, **kw: (titles.append(text), original(text, **kw))[1]
        return fig, ax

    monkeypatch.setattr(plots, "figure", recording_figure)
    plots.curves({"return": ([100], [21.5])}, tmp_path / "a.png", "Returns", "env steps", "return")
    plots.curves({"return": ([100, 200], [21.5, 30.0])}, tmp_path / "b.png", "Returns", "env steps", "return")
    assert "a longer run draws the curves" in titles[0] and titles[1] == "Returns"
    assert (tmp_path / "a.png").stat().st_size > 5_000
