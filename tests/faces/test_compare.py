"""`faces compare`'s arithmetic: the share of the oracle gap, intervals over seeds, the table, the seeds' checks;
the baselines' sampling: group-balanced draws for `reweighted`, a balanced split for `oracle`."""

import numpy as np
import pytest
from support import mit_dl_in_process

from mit_dl import evaluation
from mit_dl.errors import ConfigError, DataError
from mit_dl.faces import FacesConfig, bias, compare, data
from mit_dl.faces import synthetic as face_data


def test_share_of_the_oracle_gap():
    assert compare.gap_closed(0.70, 0.40, 0.96) == pytest.approx(0.30 / 0.56)
    assert compare.gap_closed(0.96, 0.40, 0.96) == pytest.approx(1.0)
    assert compare.gap_closed(0.40, 0.40, 0.96) == 0.0
    assert compare.gap_closed(0.30, 0.40, 0.96) == pytest.approx(-0.10 / 0.56)  # worse than the CNN: negative
    assert compare.gap_closed(0.50, 0.80, 0.80) is None  # no gap to close


def _report(worst, accuracy, best=0.99):
    groups = {"face/a": {"accuracy": worst}, "face/b": {"accuracy": best}, "non-face/a": {"accuracy": 0.97}}
    return {"accuracy": accuracy, "groups": groups, "worst_face_group_accuracy": worst, "face_gap": best - worst}


def test_summary_gives_per_seed_values_means_intervals_gains_and_the_share_of_the_gap():
    worst = {"cnn": [0.60, 0.70, 0.65], "dbvae-max": [0.75, 0.80, 0.62], "oracle": [0.96, 0.98, 0.97]}
    runs = {
        (seed, name): _report(worst[name][i], 0.90 + 0.01 * i) for i, seed in enumerate((4, 7, 9)) for name in worst
    }
    summary = compare.summarise_comparison(runs, (4, 7, 9), tuple(worst))
    dbvae = summary["per_model"]["dbvae-max"]
    assert dbvae["worst_face"]["values"] == [0.75, 0.80, 0.62]
    assert dbvae["worst_face_gain"]["values"] == pytest.approx([0.15, 0.10, -0.03])
    assert dbvae["seeds_with_gain"] == 2
    assert dbvae["accuracy_change"]["mean"] == pytest.approx(0.0)
    assert dbvae["gap_closed"]["values"] == pytest.approx([0.15 / 0.36, 0.10 / 0.28, -0.03 / 0.32])
    mean, low, high = evaluation.seed_interval([0.75, 0.80, 0.62])
    assert (dbvae["worst_face"]["mean"], dbvae["worst_face"]["low"], dbvae["worst_face"]["high"]) == (mean, low, high)
    # The formula on the means: (0.7233 - 0.65) / (0.97 - 0.65).
    assert summary["gap_closed_from_means"]["dbvae-max"] == pytest.approx((np.mean(worst["dbvae-max"]) - 0.65) / 0.32)
    assert summary["gap_closed_from_means"]["cnn"] == 0.0 and summary["gap_closed_from_means"]["oracle"] == 1.0
    assert dbvae["groups"]["face/a"]["values"] == [0.75, 0.80, 0.62]

    table = compare.comparison_table(summary)
    assert "| measure | standard CNN | DB-VAE (max) | oracle (balanced data) |" in table
    assert f"| worst face group | 65.0 [{100 * evaluation.seed_interval(worst['cnn'])[1]:.1f}, " in table
    assert "| seeds with a worst-group gain | 0/3 | 2/3 | 3/3 |" in table
    assert "| share of oracle gap closed, from the means | 0.0 | 22.9 | 100.0 |" in table
    assert "| non-face/a | 97.0 [97.0, 97.0] |" in table

    # A sampler's recall and effective faces, where the runs recorded them (the CNN and the oracle draw uniformly).
    for i, seed in enumerate((4, 7, 9)):
        runs[(seed, "dbvae-max")]["resampling_recall"] = {
            "faces": 1000,
            "effective_faces": [600.0, 700.0, 650.0][i],
            "any rare": {"top": 0.3, "data": 0.1},
        }
    table = compare.comparison_table(compare.summarise_comparison(runs, (4, 7, 9), tuple(worst)))
    assert "| rare faces among the 10% most drawn | - | 30.0 [30.0, 30.0] | - |" in table
    low, high = evaluation.seed_interval([600.0, 700.0, 650.0])[1:]
    assert f"| faces effectively drawn from (of 1,000) | - | 650.0 [{low:.1f}, {high:.1f}] | - |" in table


def test_seed_interval_is_the_student_t_interval():
    values = [0.61, 0.72, 0.66, 0.70, 0.64]
    mean, low, high = evaluation.seed_interval(values)
    half = 2.7764451 * np.std(values, ddof=1) / np.sqrt(5)  # t quantile 0.975 at 4 degrees of freedom
    assert mean == pytest.approx(np.mean(values)) and (low, high) == pytest.approx((mean - half, mean + half))
    assert np.isnan(evaluation.seed_interval([0.5])[1])
    # Bounds clip the interval, not the mean: four good seeds and a collapse stay within 0-100%.
    collapsed = [0.99, 0.98, 0.99, 0.97, 0.10]
    mean, low, high = evaluation.seed_interval(collapsed, bounds=(0.0, 1.0))
    assert mean == pytest.approx(np.mean(collapsed)) and high == 1.0 and 0.0 < low < mean
    assert evaluation.seed_interval(collapsed)[2] > 1.0
    with pytest.raises(ValueError, match="at least one value"):
        evaluation.seed_interval([])


def test_reweighted_draws_every_face_group_equally_often():
    import tensorflow as tf

    train = face_data.synthetic_faces(2000, "train", seed=3)
    config = FacesConfig(model="reweighted", train_count=2000, batch_size=64, seed=3)
    batches, probabilities = data.training_batches(config, train)
    face_groups = train.group_names()[train.labels == 1]
    present, counts = np.unique(face_groups, return_counts=True)
    assert counts.min() < 0.1 * counts.max()  # the biased data: some groups have a few faces
    p = probabilities.numpy()
    per_group = np.array([p[face_groups == g].sum() for g in present])
    np.testing.assert_allclose(per_group, 1 / len(present), rtol=1e-5)

    # In the batches the pipeline yields: tag every face with its index to count the groups drawn.
    faces_only = train.images[train.labels == 1].copy()
    faces_only[:, 0, 0, 0], faces_only[:, 0, 0, 1] = np.arange(len(faces_only)) % 256, np.arange(len(faces_only)) // 256
    non_faces = train.images[train.labels == 0]
    drawn = np.concatenate(
        [
            np.round(x[:32, 0, 0, :2].numpy() * 255).astype(int) @ np.array([1, 256])
            for x, _ in data.debias.resampled_batches(faces_only, non_faces, probabilities, 64, seed=3).take(300)
        ]
    )
    shares = np.array([np.mean(face_groups[drawn] == g) for g in present])
    # 9,600 draws: each group's share within 1.2 points of 1/G (its sd is ~0.3 points).
    np.testing.assert_allclose(shares, 1 / len(present), atol=0.012)
    uniform_dark = np.mean(train.attributes["skin"][train.labels == 1] == 1)
    drawn_dark = np.mean(np.char.startswith(face_groups[drawn], "face/dark"))
    assert drawn_dark > 5 * uniform_dark  # 6 of the 12 groups are dark-skinned: about half the draws
    assert isinstance(batches, tf.data.Dataset)


def test_the_oracle_trains_on_a_balanced_split_of_the_same_size_and_the_others_on_the_biased_one():
    oracle = FacesConfig(model="oracle", train_count=480, test_count=240)
    train, test, _ = data.load_data(oracle)
    names, counts = np.unique(train.group_names(), return_counts=True)
    assert len(train) == 480 and len(names) == 24 and set(counts) == {20}
    biased, biased_test, _ = data.load_data(oracle.replace(model="cnn"))
    assert np.mean(biased.attributes["skin"][biased.labels == 1] == 1) < 0.1
    np.testing.assert_array_equal(test.images, biased_test.images)  # one test set for every model


def test_resampling_recall_counts_the_rare_faces_among_the_most_drawn():
    train = face_data.synthetic_faces(1000, "train", seed=1)
    faces_only = train.labels == 1
    rare = ((train.attributes["skin"] == 1) | (train.attributes["accessory"] == 1))[faces_only]
    p = np.where(rare, 10.0, 1.0)
    recall = bias.resampling_recall(p / p.sum(), train, top=0.1)
    assert bias.rare_values() == ["skin=dark", "accessory=hat"]
    assert recall["any rare"]["data"] == pytest.approx(rare.mean())
    expected_top = min(1.0, rare.sum() / round(0.1 * faces_only.sum()))
    assert recall["any rare"]["top"] == pytest.approx(expected_top)
    uniform = bias.resampling_recall(np.full(faces_only.sum(), 1 / faces_only.sum()), train)
    assert uniform["any rare"]["top"] == pytest.approx(rare[: round(0.1 * faces_only.sum())].mean())
    # Kish's effective sample size: (sum w)^2 / sum w^2 for weights w; every face for uniform draws.
    assert recall["faces"] == faces_only.sum()
    assert recall["effective_faces"] == pytest.approx(p.sum() ** 2 / np.sum(p**2))
    assert uniform["effective_faces"] == pytest.approx(faces_only.sum())


def test_effective_faces_is_one_when_a_single_face_takes_the_draws():
    assert bias.effective_faces(np.eye(1, 500, 7)[0]) == pytest.approx(1.0)
    assert bias.effective_faces(np.full(500, 1 / 500)) == pytest.approx(500.0)
    # Unnormalised weights are normalised: ten faces with equal weight.
    assert bias.effective_faces(np.r_[np.full(10, 3.0), np.zeros(90)]) == pytest.approx(10.0)


def test_label_aware_models_need_the_synthetic_groups():
    with pytest.raises(ConfigError, match="^model 'reweighted' needs the synthetic benchmark's face groups"):
        FacesConfig(model="reweighted", data="lfw")
    with pytest.raises(DataError, match="needs the group labels"):
        data.group_balanced_probabilities(face_data.FaceData(np.zeros((2, 64, 64, 3), np.uint8), np.array([1, 0]), {}))
    assert FacesConfig(model="oracle").unused_fields() == (
        "warmup_steps",
        "resample_every",
        "combine",
        "latent_dim",
        "kl_weight",
    )


@pytest.mark.parametrize(
    "seeds, message",
    [
        (["0", "1", "1"], "--seeds lists 1 more than once; give each seed once"),
        (["0", "-2"], "--seeds must be non-negative"),
    ],
)
def test_cli_compare_refuses_repeated_or_negative_seeds_before_training(tmp_path, seeds, message):
    result = mit_dl_in_process("faces", "compare", "--seeds", *seeds, "--out", str(tmp_path / "cmp"))
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "cmp").exists()


def test_cli_compare_help_prints_its_description_with_one_percent_sign():
    from mit_dl import cli

    parser = cli.build_parser()
    faces_actions = parser._subparsers._group_actions[0].choices["faces"]._subparsers._group_actions[0]
    description = faces_actions.choices["compare"].format_help()
    assert "with 95% intervals over the seeds" in " ".join(description.split())
    assert "%%" not in description
    assert "95% intervals" in " ".join(faces_actions.choices["compare"].description.split())
