# %% [markdown]
# # Lecture 5 lab: uncertainty — what a model does not know, and how sure it should be
#
# MIT 6.S191 with the `mit_dl` companion package. Lecture 5 separates two kinds of uncertainty:
#
# - **aleatoric**: noise in the data itself (two identical inputs with different labels); more data
#   does not remove it. A model can learn it by predicting a variance next to its prediction.
# - **epistemic**: what the model does not know because it has not seen such inputs. It shrinks with
#   data. A single network cannot see it in its own output; several plausible networks (dropout
#   masks, ensemble members, weight draws) disagree where it is high.
#
# You will write the Gaussian negative log-likelihood with a log-variance, the Monte Carlo dropout
# prediction, the mutual information of an ensemble and the expected calibration error; check each;
# train the wrappers of `mit_dl.uncertainty` on the lecture's regression toy; and measure, on real
# Fashion-MNIST, how well each uncertainty tells clothes from the handwritten digits of MNIST, a
# dataset the models never saw. Cells marked `# TODO` are yours; a checker from
# `mit_dl.labs.uncertainty` follows each exercise. `QUICK = True` trains on small budgets (about a
# minute per model on a laptop CPU); `QUICK = False` uses the `quick` preset of
# `mit-dl uncertainty train` (all 55,000 training images, 5 epochs).

# %%
from mit_dl.environment import quiet_tensorflow_startup

quiet_tensorflow_startup()  # TensorFlow without its C++ start-up lines (errors still show)

import pathlib

import keras
import numpy as np
import tensorflow as tf
from IPython.display import Image, display

from mit_dl import evaluation, labs
from mit_dl.data import mnist
from mit_dl.labs import uncertainty as checks
from mit_dl.networks.cnn import cnn_classifier
from mit_dl.training import Trainer
from mit_dl.uncertainty import DropoutWrapper, EnsembleWrapper, MVEWrapper, evaluate, figures
from mit_dl.uncertainty import data as toy

QUICK = labs.quick_mode()
OUT = pathlib.Path("uncertainty_outputs")
OUT.mkdir(exist_ok=True)
STEPS = 1500 if QUICK else 3000  # regression training steps

# %% [markdown]
# ## 5.1 The regression toy
#
# The lecture's picture: `y = x³` with noise whose spread grows from σ = 1.5 at `x = -4` to σ = 3
# at `x = 4`, and **no training inputs** between 1 and 2.5. Where the data are noisy a good model
# reports a wide aleatoric band; in the gap and beyond [-4, 4] it should report that it does not know.

# %%
points = toy.cubic_regression(2000, seed=0)
scale = float(points.y.std())
print(f"{len(points.x)} points; x in [{points.x.min():.2f}, {points.x.max():.2f}], none in {toy.GAP}")
batches = toy.regression_batches(points.x / 4, points.y / scale, batch_size=256, seed=0)
grid = np.linspace(-6, 6, 481, dtype=np.float32)

# %% [markdown]
# ## 5.2 Aleatoric uncertainty: the Gaussian negative log-likelihood
#
# Mean-variance estimation: the network predicts the mean `μ(x)` and `s(x) = log σ²(x)`, trained by
#
#     NLL = 1/2 [ log σ² + (y − μ)² / σ² + log 2π ],   with σ² = exp(s).
#
# Predicting `log σ²` rather than `σ` keeps the variance positive and the optimisation smooth. The
# `log σ²` term stops the network from claiming infinite variance; the second term from claiming
# none where it errs.
#
# **Exercise:** return the NLL of each example.


# %%
def gaussian_nll(y, mu, log_variance):
    # TODO: 1/2 [log sigma^2 + (y - mu)^2 / sigma^2 + log 2 pi] per example, with sigma^2 = exp(log_variance)
    ### BEGIN SOLUTION
    return 0.5 * (log_variance + tf.square(y - mu) * tf.exp(-log_variance) + np.log(2 * np.pi))
    ### END SOLUTION


checks.check_gaussian_nll(gaussian_nll)


# %% [markdown]
# `MVEWrapper` adds a log-variance head to any Keras regression model (on the features its output
# layer reads) and trains both with the NLL — here yours.


# %%
def regression_network():
    inputs = keras.Input((1,))
    hidden = keras.layers.Dense(64, activation="relu")(inputs)
    hidden = keras.layers.Dense(64, activation="relu")(hidden)
    return keras.Model(inputs, keras.layers.Dense(1)(hidden))


keras.utils.set_random_seed(0)
mve = MVEWrapper(regression_network(), loss_fn=gaussian_nll)
mve.compile(keras.optimizers.Adam(3e-3))
Trainer(mve, verbose=0).fit(batches, steps=STEPS, steps_per_epoch=STEPS)
out = {k: v.numpy()[:, 0] for k, v in mve(grid[:, None] / 4).items()}
mean, sigma = out["prediction"] * scale, np.sqrt(out["aleatoric"]) * scale
report = evaluate.regression_report(grid, {"prediction": mean, "aleatoric": sigma**2})
print(f"learned sigma off the true sigma(x) by {100 * report['sigma_relative_rms_error']:.1f}% (RMS, training range)")
figures.uncertainty_bands(
    (points.x[:, 0], points.y[:, 0]),
    grid,
    {"prediction": mean, "aleatoric": sigma},
    OUT / "mve.png",
    title="MVE: prediction ± 2σ aleatoric",
    truth=grid**3,
    shaded=toy.GAP,
)
display(Image(str(OUT / "mve.png")))

# %% [markdown]
# The aleatoric band follows the noise, but it says nothing about the gap or beyond x = ±4: the
# network extrapolates with the same confidence. That is epistemic uncertainty's job.
#
# ## 5.3 Epistemic uncertainty: Monte Carlo dropout
#
# Keep dropout **on** at prediction time and run `T` passes: each pass is a different thinned
# network, a sample of plausible models (Gal and Ghahramani 2016). Average their probabilities for
# the prediction; their disagreement is the epistemic uncertainty.
#
# **Exercise:** return the mean of `T` softmax predictions of `model` on `x` with dropout on.


# %%
def mc_dropout_predict(model, x, T):
    # TODO: T passes of softmax(model(x, training=True)), averaged over the passes
    ### BEGIN SOLUTION
    return tf.reduce_mean(tf.stack([tf.nn.softmax(model(x, training=True)) for _ in range(T)]), axis=0)
    ### END SOLUTION


checks.check_mc_dropout_prediction(mc_dropout_predict)

# %% [markdown]
# `training=True` also switches batch normalisation to batch statistics, and a Python loop of `T`
# calls is slow. `DropoutWrapper` does the same with neither problem: its dropout layers drop at
# prediction time by themselves, and the `T` passes are one batched call (the batch repeated `T`
# times). On the regression toy it adds dropout after each hidden layer:

# %%
keras.utils.set_random_seed(0)
dropout = DropoutWrapper(regression_network(), samples=50, rate=0.1, task="regression")
dropout.compile(keras.optimizers.Adam(3e-3))
Trainer(dropout, verbose=0).fit(batches, steps=STEPS, steps_per_epoch=STEPS)
out = {k: v.numpy()[:, 0] for k, v in dropout(grid[:, None] / 4).items()}
epistemic = np.sqrt(out["epistemic"]) * scale
report = evaluate.regression_report(grid, {"prediction": out["prediction"] * scale, "epistemic": epistemic**2})
print(
    f"epistemic sigma: {report['epistemic_gap_ratio']:.2f}x the training range's on the gap, "
    f"{report['epistemic_outside_ratio']:.1f}x beyond the data"
)
figures.uncertainty_bands(
    (points.x[:, 0], points.y[:, 0]),
    grid,
    {"prediction": out["prediction"] * scale, "epistemic": epistemic},
    OUT / "dropout.png",
    title="MC dropout: prediction ± 2σ epistemic",
    truth=grid**3,
    shaded=toy.GAP,
)
display(Image(str(OUT / "dropout.png")))

# %% [markdown]
# The band widens beyond the data, but not in the gap: dropout's spread grows with the size of the
# activations, and a ReLU network interpolates across a short gap confidently. This is a known
# limit of MC dropout and mean-field Bayesian networks ("in-between" uncertainty, Foong et al.
# 2019); the docs page measures it for every method. A deep ensemble does better.
#
# ## 5.4 Deep ensembles and the mutual information
#
# With the class probabilities `p_m` of `M` members (or `T` passes), the **total** uncertainty is the
# entropy of the mean prediction, `H[mean_m p_m]`; the **aleatoric** part is the mean of the
# members' entropies, `mean_m H[p_m]` (each member's own doubt); the **epistemic** part is their
# difference, the mutual information: zero when all members agree.
#
# **Exercise:** return the mutual information of each input (natural logarithms).


# %%
def mutual_information(probabilities):
    # TODO: entropy of the mean over members (axis 0) minus the mean over members of the entropies
    ### BEGIN SOLUTION
    def entropy(p):
        return -tf.reduce_sum(tf.math.xlogy(p, p), axis=-1)

    return entropy(tf.reduce_mean(probabilities, axis=0)) - tf.reduce_mean(entropy(probabilities), axis=0)
    ### END SOLUTION


checks.check_mutual_information(mutual_information)

# %% [markdown]
# Now real data: an ensemble of the images lab's CNN on Fashion-MNIST, and MNIST's handwritten
# digits as inputs from another distribution. A good uncertainty is higher on the digits.

# %%
train_x, train_y, source = mnist.load_arrays("fashion_mnist", "train")
test_x, test_y, _ = mnist.load_arrays("fashion_mnist", "test")
ood_x, _, ood_source = mnist.load_arrays("mnist", "test")
count, members, epochs = (6000, 3, 1) if QUICK else (len(train_x), 5, 5)
test_count = 2000 if QUICK else len(test_x)
print(f"Fashion-MNIST from {source}; MNIST from {ood_source}")

keras.utils.set_random_seed(0)
ensemble = EnsembleWrapper(cnn_classifier, members=members, seed=0)
steps = epochs * -(-count // 64)
ensemble.compile(keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(5e-3, steps)))
Trainer(ensemble, verbose=0).fit(mnist.to_dataset(train_x[:count], train_y[:count], 64, shuffle=True), epochs=epochs)
predict = evaluate.compiled_predictor(ensemble)
inside = evaluate.predict_images(predict, test_x[:test_count])
outside = evaluate.predict_images(predict, ood_x[:test_count])
accuracy = (inside["probabilities"].argmax(1) == test_y[:test_count]).mean()
print(f"{members} members, {count} training images: test accuracy {100 * accuracy:.2f}%")


def your_mutual_information(images):
    logits = ensemble.member_outputs(images[..., None].astype(np.float32) / 255.0)[0]
    return mutual_information(tf.nn.softmax(logits)).numpy()


scores = {
    "1 - max probability": (1 - inside["probabilities"].max(1), 1 - outside["probabilities"].max(1)),
    "predictive entropy": (inside["entropy"], outside["entropy"]),
    "your mutual information": (
        your_mutual_information(test_x[:test_count]),
        your_mutual_information(ood_x[:test_count]),
    ),
}
for name, (in_scores, out_scores) in scores.items():
    print(f"{name:24s}: OOD AUROC {evaluation.ood_auroc(in_scores, out_scores):.3f}")
figures.score_histograms(scores, OUT / "ood_scores.png", title="Fashion-MNIST test (blue) vs MNIST test (orange)")
display(Image(str(OUT / "ood_scores.png")))

# %% [markdown]
# ## 5.5 Calibration: does 90% confidence mean 90% right?
#
# Sort the test predictions into 15 equal-width bins of confidence (the top probability); in each,
# compare the accuracy with the mean confidence. The **expected calibration error** weighs each
# bin's gap by its share of the predictions, `ECE = Σ_b (n_b / N) |acc_b − conf_b|` (Guo et al. 2017).
#
# **Exercise:** return the ECE (use the bins' edges `b / bins`; a confidence in `(b/B, (b+1)/B]`
# falls in bin `b`).


# %%
def expected_calibration_error(labels, probabilities, bins=15):
    # TODO: per bin, accuracy and mean confidence; the gaps weighted by the bins' counts / N
    ### BEGIN SOLUTION
    labels, probabilities = np.asarray(labels), np.asarray(probabilities)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    total = 0.0
    for b in range(bins):
        chosen = index == b
        if chosen.any():
            total += chosen.sum() / len(labels) * abs(correct[chosen].mean() - confidence[chosen].mean())
    return total
    ### END SOLUTION


checks.check_expected_calibration_error(expected_calibration_error)

# %% [markdown]
# A temperature `T` fitted on held-out images (never the test set) rescales the log-probabilities,
# `softmax(log p / T)`: it changes the confidence, not the ranking, so the accuracy stays.

# %%
validation_x, validation_y = train_x[-2000:], train_y[-2000:]  # not trained on in quick mode
held_out = evaluate.predict_images(predict, validation_x)
temperature = evaluation.fit_temperature(validation_y, held_out["probabilities"])
scaled = evaluation.temperature_scaled(inside["probabilities"], temperature)
labels = test_y[:test_count]
print(
    f"ECE {100 * expected_calibration_error(labels, inside['probabilities']):.2f}% as trained; "
    f"{100 * expected_calibration_error(labels, scaled):.2f}% at T = {temperature:.2f}"
)
figures.reliability_diagrams(
    {
        "as trained": evaluation.calibration_bins(labels, inside["probabilities"]),
        f"temperature {temperature:.2f}": evaluation.calibration_bins(labels, scaled),
    },
    OUT / "reliability.png",
    title="ensemble on Fashion-MNIST",
)
display(Image(str(OUT / "reliability.png")))

# %% [markdown]
# ## 5.6 Further
#
# - `mit-dl uncertainty train --method mve|dropout|ensemble|bayes|vae --task regression|fashion_mnist`
#   trains any method with the shared engine, measures NLL, Brier, ECE and OOD AUROC / AUPR with 95%
#   intervals, and exports a SavedModel whose `predict(uint8 images)` returns the probabilities and
#   the uncertainties; `mit-dl uncertainty evaluate --model <run>/saved_model` measures an export.
# - `mit_dl.uncertainty.BayesByBackprop` is a Dense layer with a learned Gaussian over every weight
#   (Bayes by Backprop); `VAEWrapper` scores inputs by how badly a VAE reconstructs them, and
#   `HistogramWrapper` by how rare their features are (the DB-VAE's histograms).
# - The docs page's table compares every method on the full data, over three seeds.
