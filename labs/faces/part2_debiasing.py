# %% [markdown]
# # Lab 2, part 2: Debiasing facial detection with a DB-VAE
#
# MIT 6.S191 with the `mit_dl` companion package. A face detector trained on data where some kinds
# of faces are rare does worse on exactly those faces. The debiasing variational autoencoder
# (DB-VAE, Amini et al. 2019; lectures 3 and 4) learns the latent structure of the faces without
# labels for skin tone or lighting, finds the rare ones, and shows them more often during training.
#
# **Data.** To *measure* bias we need to know each test face's group. `mit_dl.faces.synthetic` generates
# a deterministic 64x64 benchmark with hidden attributes (skin tone, lighting, hat or glasses): in
# training, dark skin and hats are 5% of faces; the test set is balanced over all 24 groups of faces
# and non-faces. Its docstring says what it models and how it differs from photographs. Real faces
# work too: `mit_dl.faces.sources` reads scikit-image's LFW subset, the course's `train_face.h5`
# and image folders.
#
# Cells marked `# TODO` are yours; a checker from `mit_dl.labs.faces` follows each exercise.
# `QUICK = True` trains each model for 600 steps on 4,000 images (about two minutes on a laptop CPU;
# too short for a reliable comparison: see the end); `QUICK = False` uses the README's full setting.

# %%
from mit_dl.environment import quiet_tensorflow_startup

quiet_tensorflow_startup()  # TensorFlow without its C++ start-up lines (errors still show)

import pathlib

import numpy as np
import tensorflow as tf
from IPython.display import Image, display

from mit_dl import labs, plots
from mit_dl.faces import FacesConfig, bias, figures
from mit_dl.faces import synthetic as face_data
from mit_dl.faces import train as faces_train
from mit_dl.labs import faces as checks

QUICK = labs.quick_mode()
OUT = pathlib.Path("faces_outputs")
OUT.mkdir(exist_ok=True)
settings = (
    FacesConfig.from_preset("quick") if QUICK else FacesConfig.from_preset("full")
)  # as `mit-dl faces train --preset quick|full`
print(settings)

# %% [markdown]
# ## 2.1 The data

# %%
train = face_data.synthetic_faces(settings.train_count, "train", seed=0)
test = face_data.synthetic_faces(settings.test_count, "test", seed=0)
groups = train.group_names()
print(f"{len(train)} training images ({int(train.labels.sum())} faces), {len(test)} test images")
for attribute in ("skin", "accessory"):
    values = face_data.ATTRIBUTES[attribute]
    shares = np.bincount(train.attributes[attribute][train.labels == 1], minlength=len(values)) / train.labels.sum()
    print(f"training faces by {attribute}: " + ", ".join(f"{v} {100 * s:.0f}%" for v, s in zip(values, shares)))
examples = [np.flatnonzero(groups == g)[0] for g in np.unique(groups)[:16]]
display(
    Image(
        str(
            plots.image_grid(
                train.images[examples],
                [g.replace("/", "\n", 1) for g in groups[examples]],
                OUT / "examples.png",
                columns=8,
            )
        )
    )
)

# %% [markdown]
# ## 2.2 The standard face detector
#
# The course's CNN (`mit_dl.faces.model.face_classifier`): four strided convolutions with batch
# normalisation, a dense layer and one logit, $P(\text{face}) = \sigma(\text{logit})$. Every batch
# is half faces, drawn uniformly, and half non-faces. It is the baseline: in section 2.6 it trains
# on the same data and schedule as the DB-VAE you are about to build.

# %%
from mit_dl.faces.model import face_classifier

face_classifier().summary()

# %% [markdown]
# ## 2.3 The variational autoencoder
#
# The encoder maps an image $x$ to a mean $\mu$ and a log-variance $\log\sigma^2$ per latent
# dimension; the decoder maps a latent sample $z$ back to an image. The VAE loss (lecture 4) is
#
# $$L_{VAE} = c \cdot \underbrace{\tfrac12 \sum_j \left(\sigma_j^2 + \mu_j^2 - 1 - \log\sigma_j^2\right)}_{\text{KL}(q(z|x)\,\|\,N(0, I))} + \underbrace{\tfrac{1}{P} \sum_p |x_p - \hat x_p|}_{\text{reconstruction (L1)}}$$
#
# with KL weight $c$. **Exercise:** one loss per image, from `logvar` $= \log\sigma^2$ (so
# $\sigma^2 = e^{\text{logvar}}$).


# %%
def vae_loss(x, x_recon, mu, logvar, kl_weight=0.005):
    # TODO: return kl_weight * KL + the mean absolute reconstruction error, one value per image
    ### BEGIN SOLUTION
    kl = 0.5 * tf.reduce_sum(tf.exp(logvar) + tf.square(mu) - 1.0 - logvar, axis=1)
    reconstruction = tf.reduce_mean(tf.abs(x - x_recon), axis=(1, 2, 3))
    return kl_weight * kl + reconstruction
    ### END SOLUTION


checks.check_vae_loss(vae_loss)

# %% [markdown]
# Sampling $z \sim N(\mu, \sigma^2)$ directly has no gradient; the *reparameterisation trick* draws
# $\varepsilon \sim N(0, I)$ and computes $z = \mu + \sigma \odot \varepsilon = \mu + e^{\frac12\log\sigma^2} \odot \varepsilon$,
# which is differentiable in $\mu$ and $\sigma$. **Exercise:** write it (given $\varepsilon$).


# %%
def reparameterize(mu, logvar, epsilon):
    # TODO: return z = mu + exp(0.5 * logvar) * epsilon
    ### BEGIN SOLUTION
    return mu + tf.exp(0.5 * logvar) * epsilon
    ### END SOLUTION


checks.check_reparameterize(reparameterize)

# %% [markdown]
# `mit_dl.layers.Sampling` is this same formula as a Keras layer that draws $\varepsilon$ itself
# (seeded); the DB-VAE below uses it.
#
# ## 2.4 The DB-VAE loss
#
# The DB-VAE's encoder is the face CNN with $2 \times \text{latent} + 1$ outputs: the face logit,
# $\mu$ and $\log\sigma^2$. Every image gets the classification loss; only faces get the VAE loss,
# because the latent space should describe faces (the indicator $\mathbb{1}[y = \text{face}]$):
#
# $$L = \text{CE}(y, \text{logit}) + \mathbb{1}[y = 1] \cdot L_{VAE}$$
#
# **Exercise:** write it with `tf.nn.sigmoid_cross_entropy_with_logits` and your `vae_loss`
# (`y` is 1 for faces and 0 otherwise, `y_logit` has shape `[N, 1]`).


# %%
def dbvae_loss(x, x_recon, y, y_logit, mu, logvar):
    y = tf.reshape(tf.cast(y, tf.float32), [-1])
    # TODO: return the classification loss plus the face-only VAE loss, one value per image
    ### BEGIN SOLUTION
    classification = tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=tf.reshape(y_logit, [-1]))
    return classification + y * vae_loss(x, x_recon, mu, logvar)
    ### END SOLUTION


checks.check_dbvae_loss(dbvae_loss)

# %% [markdown]
# ## 2.5 Resampling by latent density
#
# For each latent dimension, a histogram of the training faces' $\mu$ estimates the density; a face
# in a sparse bin is rare, so it should be drawn more often: its weight is
# $1 / (\text{density} + \alpha)$ (the smoothed, normalised histogram at its bin). The course takes
# the maximum of the per-dimension weights (each normalised over faces) and normalises the result
# into probabilities; the paper multiplies them (both pass the checker).
#
# **Exercise:** `mu` is a NumPy array `[faces, latent]`; return one probability per face. Use
# `np.histogram(column, bins=bins, density=True)` for each dimension; a face's bin is where its value
# falls among the bin edges (the first and last bins extend to infinity).


# %%
def sampling_probabilities(mu, bins=10, smoothing=0.001):
    # TODO: per dimension, weight 1 / (smoothed density of the face's bin), normalised; max over dimensions; normalise
    ### BEGIN SOLUTION
    probabilities = np.zeros(len(mu))
    for column in np.asarray(mu, np.float64).T:
        density, edges = np.histogram(column, bins=bins, density=True)
        index = np.clip(np.digitize(column, edges[1:-1]), 0, bins - 1)
        smoothed = (density + smoothing) / np.sum(density + smoothing)
        weights = 1.0 / smoothed[index]
        probabilities = np.maximum(probabilities, weights / weights.sum())
    return probabilities / probabilities.sum()
    ### END SOLUTION


checks.check_sampling_probabilities(sampling_probabilities)

# %% [markdown]
# ## 2.6 Training the DB-VAE and the standard CNN
#
# `mit_dl.faces.train.train_detector` trains the DB-VAE with your loss and your sampling
# probabilities: faces are drawn uniformly during a warm-up, then by your probabilities, recomputed
# from the current encoder every few hundred steps (the course computed them once per epoch). Then the
# standard CNN trains on the same data with the same schedule, drawing faces uniformly.

# %%
dbvae, dbvae_history, resampling = faces_train.train_detector(
    settings.replace(model="dbvae"), train, loss_fn=dbvae_loss, probabilities_fn=sampling_probabilities
)
dbvae_report = bias.evaluate(dbvae, test)
cnn, cnn_history, _ = faces_train.train_detector(settings.replace(model="cnn"), train)
cnn_report = bias.evaluate(cnn, test)
for name, report in (("DB-VAE", dbvae_report), ("standard CNN", cnn_report)):
    print(
        f"{name}: test accuracy {100 * report['accuracy']:.1f}%, worst face group "
        f"{report['worst_face_group']} {100 * report['worst_face_group_accuracy']:.1f}%"
    )

# %% [markdown]
# Which training faces does it draw most and least often? Rare faces (dark skin, hats, dim light)
# should be on top. The decoder's reconstructions and a walk along the latent dimension that
# correlates most with dark skin show what the latent space learned.

# %%
latent = figures.dbvae_figures(dbvae, train, test, resampling["probabilities"], OUT)
for name in ("sampling_extremes.png", "reconstructions.png", "latent_traversal.png"):
    display(Image(str(OUT / name)))
for attribute, best in latent["correlations"].items():
    print(f"{attribute}: latent dimension {best[0]['dimension']} correlates with r = {best[0]['r']:+.2f}")

# %% [markdown]
# ## 2.7 Did it debias?
#
# Accuracy per group, with 95% intervals, for both detectors on the same balanced test set.

# %%
display(
    Image(str(figures.group_accuracy({"standard CNN": cnn_report, "DB-VAE": dbvae_report}, OUT / "group_accuracy.png")))
)
for name, report in (("standard CNN", cnn_report), ("DB-VAE", dbvae_report)):
    print(
        f"{name:>12}: overall {100 * report['accuracy']:.1f}%, worst face group "
        f"{100 * report['worst_face_group_accuracy']:.1f}% ({report['worst_face_group']})"
    )

# %% [markdown]
# One short run on one seed is noisy, and `QUICK = True` is shorter still: after 600 steps on 4,000
# images every model is still learning (even a CNN trained on *balanced* data stays near 80-85%
# overall), so the numbers above check that the pipeline runs, not whether the DB-VAE debiases.
#
# The docs page reports the full setting over five seeds (`mit-dl faces compare --seeds 0 1 2 3 4`,
# about 50 minutes on a 2-core CPU) with two references beside the standard CNN and the DB-VAE:
# the same CNN drawing every face group equally often from the group *labels* (what the lecture
# calls sample reweighting when the groups are known), and an *oracle*, the CNN trained on a
# balanced training set of the same size. Worst face group, mean of 5 seeds: standard CNN 67.4%,
# DB-VAE 69.7% (+2.3), reweighting with labels 71.2% (+3.8), oracle 97.7%. The DB-VAE finds the
# rare faces without labels (a third of the faces it draws most have dark skin or a hat, against
# a tenth of the data), but the rarest group has only 8 to 16 distinct training faces: drawing the
# same few faces more often helps a little; more faces of that group is what closes the gap.
