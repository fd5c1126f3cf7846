# %% [markdown]
# # Lecture 4 lab: deep generative models — VAEs, β-VAEs and GANs
#
# MIT 6.S191 with the `mit_dl` companion package. Lecture 4 builds two kinds of generative model:
# the **variational autoencoder** (an encoder to a latent Gaussian, a decoder back, trained by
# reconstruction + KL) and the **generative adversarial network** (a generator that transforms
# noise into images, trained against a discriminator). The course has no lab for it; this is one.
#
# You will write the losses — the β-VAE's, the reparameterised sample, the GAN's two players'
# (minimax and non-saturating), and WGAN-GP's gradient penalty — check each, train a VAE with your
# loss and a DCGAN on real Fashion-MNIST, and measure what the lecture says: **VAEs blur, GANs do
# not**. No Inception network can be downloaded here, so sample quality is measured in the features
# of a small CNN trained on Fashion-MNIST (the images lab's), against reference sets that show what
# each number means.
#
# Cells marked `# TODO` are yours; a checker from `mit_dl.labs.generative` follows each exercise.
# `QUICK = True` trains each model for 120 steps on 3,000 images (under a minute on a laptop CPU: a
# smoke run that checks everything works, not a measurement); `QUICK = False` uses the
# `quick` preset of `mit-dl generative train` (3,000 steps on the 60,000 images).

# %%
from mit_dl.environment import quiet_tensorflow_startup

quiet_tensorflow_startup()  # TensorFlow without its C++ start-up lines (errors still show)

import pathlib

import keras
import tensorflow as tf
from IPython.display import Image, display

from mit_dl import labs, plots
from mit_dl.generative import GenerativeConfig, figures, quality, train
from mit_dl.generative import data as generative_data
from mit_dl.generative.gan import GAN
from mit_dl.generative.sampling import Sampler
from mit_dl.generative.vae import VAE
from mit_dl.labs import generative as checks

QUICK = labs.quick_mode()
OUT = pathlib.Path("generative_outputs")
OUT.mkdir(exist_ok=True)
STEPS = 120 if QUICK else None  # None: the preset's 3,000
SCORED = 500 if QUICK else 5000
base = GenerativeConfig.from_preset("quick", dataset="fashion_mnist", train_count=3000 if QUICK else None, steps=STEPS)
data = generative_data.load_data(base)
print(f"{len(data.train_images)} training images, {len(data.test_images)} held-out test images ({data.source})")
display(Image(str(plots.image_mosaic(data.train_images[:40], OUT / "real.png", columns=10, title="real images"))))

# %% [markdown]
# ## 4.1 The VAE loss, with β
#
# The decoder gives one logit per pixel, `x_hat = sigmoid(logit)`. The lecture's loss for one image,
# summed over its pixels, is
#
# $$\mathcal{L} = \sum_{\text{pixels}} \mathrm{BCE}(x, \hat x) + \beta \cdot \tfrac12 \sum_j \left(\sigma_j^2 + \mu_j^2 - 1 - \log \sigma_j^2\right)$$
#
# with `logvar` $= \log\sigma^2$. β = 1 is the VAE; β > 1 the β-VAE, which pays more for information
# in the code and so prefers codes whose dimensions vary independently (disentanglement).
# `BCE(x, sigmoid(l)) = softplus(l) - x * l` is the overflow-free form.
#
# **Exercise:** return one loss per image.


# %%
def vae_loss(x, logits, mu, logvar, beta):
    # TODO: sum the binary cross-entropy over each image's pixels, add beta times the KL term summed over latent dimensions
    ### BEGIN SOLUTION
    reconstruction = tf.reduce_sum(tf.nn.softplus(logits) - x * logits, axis=[1, 2, 3])
    kl = 0.5 * tf.reduce_sum(tf.exp(logvar) + tf.square(mu) - 1.0 - logvar, axis=1)
    return reconstruction + beta * kl
    ### END SOLUTION


checks.check_beta_vae_loss(vae_loss)

# %% [markdown]
# ## 4.2 The reparameterised sample
#
# Sampling `z ~ N(mu, sigma^2)` is not differentiable; `z = mu + sigma * eps` with `eps ~ N(0, I)` is
# (the same exercise as Lab 2's; `mit_dl.layers.Sampling` is the library's layer).


# %%
def reparameterize(mu, logvar, epsilon):
    # TODO: z = mu + sigma * epsilon, with sigma = exp(0.5 * logvar)
    ### BEGIN SOLUTION
    return mu + tf.exp(0.5 * logvar) * epsilon
    ### END SOLUTION


checks.check_reparameterize(reparameterize)

# %% [markdown]
# ## 4.3 Train a VAE with your loss
#
# `mit_dl.generative.VAE` owns its training step; `loss_fn=` makes it use yours. The shared
# `Trainer` (through `train.fit`) runs the step compiled.

# %%
keras.utils.set_random_seed(0)
vae = VAE(data.image_shape, latent_dim=16, beta=1.0, seed=0, loss_fn=vae_loss)
vae.compile(optimizer=keras.optimizers.Adam(1e-3))
vae.optimizer.build(vae.trainable_variables)
vae_config = base.replace(model="vae")
vae_history = train.fit(vae, vae_config, data)
display(Image(str(figures.sample_grid(vae, data.class_names, OUT / "vae_samples.png", "VAE: samples"))))
display(
    Image(
        str(
            figures.reconstructions(
                vae,
                data.test_images[:10],
                data.test_labels[:10],
                OUT / "vae_recon.png",
                "VAE: held-out and reconstructed",
            )
        )
    )
)

# %% [markdown]
# ## 4.4 The GAN's two losses
#
# The discriminator outputs a logit, `D(x) = sigmoid(logit)`. It maximises
# `log D(x) + log(1 - D(G(z)))`: as a loss to minimise, per example,
# `-log D(x) - log(1 - D(G(z)))`. Use `log sigmoid(l) = -softplus(-l)` and
# `log(1 - sigmoid(l)) = -softplus(l)`.
#
# The generator of the lecture's minimax game minimises `log(1 - D(G(z)))`. Early in training the
# discriminator rejects every fake, `D(G(z)) ≈ 0`, where that loss is flat: the generator gets no
# gradient. Goodfellow et al. therefore train it on the **non-saturating** loss `-log D(G(z))`
# (same fixed point, strong gradient where it is needed).
#
# **Exercise:** write both players' losses, one value per example.


# %%
def discriminator_loss(real_logits, fake_logits):
    # TODO: -log D(x) - log(1 - D(G(z))) per example, from the logits (shape [batch, 1] each)
    ### BEGIN SOLUTION
    return tf.nn.softplus(-real_logits[:, 0]) + tf.nn.softplus(fake_logits[:, 0])
    ### END SOLUTION


def generator_loss(fake_logits, kind="non-saturating"):
    # TODO: kind "non-saturating": -log D(G(z)); kind "minimax": log(1 - D(G(z))); per example
    ### BEGIN SOLUTION
    if kind == "non-saturating":
        return tf.nn.softplus(-fake_logits[:, 0])
    return -tf.nn.softplus(fake_logits[:, 0])
    ### END SOLUTION


checks.check_discriminator_loss(discriminator_loss)
checks.check_generator_loss(generator_loss)

# %% [markdown]
# ## 4.5 Train a DCGAN
#
# `mit_dl.generative.GAN` is the DCGAN of Radford et al.: a generator of `Conv2DTranspose` layers with
# BatchNorm, a discriminator of strided convolutions with LeakyReLU, Adam at 2e-4 with β1 = 0.5. Its
# step updates the discriminator on a real and a generated batch, then the generator on fresh noise;
# `discriminator_loss_fn=` and `generator_loss_fn=` make it use your losses.

# %%
gan_config = base.replace(model="dcgan")
keras.utils.set_random_seed(0)
gan = GAN(data.image_shape, 64, seed=0, discriminator_loss_fn=discriminator_loss, generator_loss_fn=generator_loss)
gan.compile(
    generator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
    discriminator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
)
gan_history = train.fit(gan, gan_config, data)
print({name: round(values[-1], 3) for name, values in gan_history.items()})
display(Image(str(figures.sample_grid(gan, data.class_names, OUT / "gan_samples.png", "DCGAN: samples"))))
display(Image(str(figures.interpolation(gan, OUT / "gan_lines.png", title="DCGAN: straight lines in noise space"))))

# %% [markdown]
# ## 4.6 WGAN-GP's gradient penalty
#
# The Wasserstein GAN's critic must be 1-Lipschitz. WGAN-GP (Gulrajani et al. 2017) penalises
# `(||∇f(x̂)||₂ - 1)²` at points `x̂ = e·x + (1 - e)·G(z)` drawn **uniformly** on the lines between
# real and generated images, `e ~ U[0, 1]` per image. (A popular example draws `e` from a normal
# distribution: most of its points fall off the segment.)
#
# **Exercise:** draw the weights, then compute the penalty per example with a `tf.GradientTape`.


# %%
def interpolation_weights(batch_size, seed):
    # TODO: one weight per image, uniform on [0, 1], shape [batch_size, 1, 1, 1]
    ### BEGIN SOLUTION
    return tf.random.stateless_uniform((batch_size, 1, 1, 1), seed=(seed, 0))
    ### END SOLUTION


def gradient_penalty(critic, real, fake, epsilon):
    # TODO: x_hat = epsilon * real + (1 - epsilon) * fake; the gradient of critic(x_hat) w.r.t. x_hat; (its norm per image - 1) ** 2
    ### BEGIN SOLUTION
    mixed = epsilon * tf.cast(real, tf.float32) + (1.0 - epsilon) * tf.cast(fake, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(mixed)
        scores = critic(mixed, training=True)
    gradients = tape.gradient(scores, mixed)
    norms = tf.sqrt(tf.reduce_sum(tf.square(gradients), axis=[1, 2, 3]))
    return tf.square(norms - 1.0)
    ### END SOLUTION


checks.check_interpolation_weights(interpolation_weights)
checks.check_gradient_penalty(gradient_penalty)

# %% [markdown]
# ## 4.7 Do VAEs blur? Measure it
#
# The Fréchet distance (FD) compares Gaussians fitted to features of generated and real held-out
# images; lower is closer. The references say what a number means: real training images (the
# floor), the same images blurred with a 3x3 box filter, with Gaussian noise (σ = 0.3), and only one
# class (mode collapse). The feature classifier is the images lab's CNN, trained here once and kept
# in your cache.

# %%
print(f"VAE: {len(vae_history['loss'])} epochs; DCGAN: {len(gan_history['generator_loss'])} epochs")
classifier, info = quality.feature_classifier("fashion_mnist", data)
space = quality.FeatureSpace(classifier)
real = data.test_images[:SCORED]
real_features = space.embed(real)[0]
scores = {
    "samples (VAE)": quality.quality_report(
        space, Sampler(vae).images(SCORED)[0], real, 10, real_features=real_features
    ),
    "samples (DCGAN)": quality.quality_report(
        space, Sampler(gan).images(SCORED)[0], real, 10, real_features=real_features
    ),
}
scores.update(quality.reference_reports(space, data, SCORED, real_features))
print(f"feature classifier: {100 * info['accuracy']:.1f}% on the held-out images")
for name, report in scores.items():
    print(f"{name:18s} FD {report['fd']:8.2f}   1-NN accuracy {report['one_nn_accuracy']:.3f}")
display(
    Image(
        str(
            plots.metric_bars(
                {name: r["fd"] for name, r in scores.items()},
                OUT / "fd.png",
                "Fréchet distance to held-out images",
                "FD (log scale)",
                log_scale=True,
            )
        )
    )
)

# %% [markdown]
# After 3,000 steps (`QUICK = False`, or `mit-dl generative train --model dcgan`), the DCGAN's FD is
# far below the blurred references' and the VAE's sits near or above them: the VAE's samples are
# blurred averages, the GAN's are sharp. The quick run is too short to show it. Going further: `--model cgan` draws a requested class, `--model wgan-gp` trains
# with your penalty's library version, and `--model beta-vae --dataset sprites` measures
# disentanglement (the mutual information gap) on sprites with known factors.
