"""Lecture 5 lab networks and the wrapper each method puts around them, compiled with the run's optimiser.

- regression: a 1 -> 64 -> 64 -> 1 ReLU network (its Dense layers
  `BayesByBackprop` for ``bayes``); the ensemble's members are MVE
  wrappers, so it reports aleatoric and epistemic variance (Lakshminarayanan
  et al. 2017);
- fashion_mnist: the images lab's CNN (`mit_dl.networks.cnn.cnn_classifier`),
  its two Dense layers variational for ``bayes``.

`build_model` returns the config's wrapper compiled with Adam (a cosine
decay to zero for the images), ready for the shared `Trainer`.
"""

import keras

from mit_dl.networks.cnn import cnn_classifier
from mit_dl.uncertainty.bayes import BayesByBackprop, BayesianModel
from mit_dl.uncertainty.dropout import DropoutWrapper
from mit_dl.uncertainty.ensemble import EnsembleWrapper
from mit_dl.uncertainty.mve import MVEWrapper
from mit_dl.uncertainty.vae import VAEWrapper
from mit_dl.uncertainty.wrapper import UncertaintyWrapper, task_loss

HIDDEN = 64


class Deterministic(UncertaintyWrapper):
    """The model alone, in the wrappers' interface: the baseline whose only uncertainty is its softmax.

    Args:
        model: a built Keras model returning logits (classification) or predictions.
        task: ``"classification"`` or ``"regression"``.
        **kwargs: `keras.Model`'s.

    Returns:
        ``{"probabilities", "entropy"}`` (classification) or ``{"prediction"}``.
    """

    def __init__(self, model, task="classification", **kwargs):
        kwargs.setdefault("name", "deterministic")
        super().__init__(task=task, **kwargs)
        self.model = model

    def call(self, inputs, training=False):
        outputs = keras.ops.cast(self.model(inputs, training=training), "float32")
        if self.task == "regression":
            return {"prediction": outputs}
        probabilities = keras.ops.softmax(outputs)
        entropy = -keras.ops.sum(probabilities * keras.ops.log(keras.ops.maximum(probabilities, 1e-30)), axis=-1)
        return {"probabilities": probabilities, "entropy": entropy}

    def training_losses(self, inputs, targets):
        """The task's loss.

        Args:
            inputs: a batch of inputs.
            targets: their targets.

        Returns:
            ``(losses [N], parts)``: one loss per example, and ``{name: [N]}`` parts to log.
        """
        return task_loss(self.task, targets, self.model(inputs, training=True)), {}


def regression_network(bayesian=False, prior_std=1.0, name="regression"):
    """``x [N, 1] -> y [N, 1]``: two hidden ReLU layers of 64 (variational with ``bayesian``).

    Args:
        bayesian: `BayesByBackprop` layers in place of Dense.
        prior_std: their prior's standard deviation.
        name: the model's name.

    Returns:
        A functional `keras.Model` (float32 outputs under mixed precision).
    """
    dense = (lambda units, **kw: BayesByBackprop(units, prior_std=prior_std, **kw)) if bayesian else keras.layers.Dense
    inputs = keras.Input((1,))
    hidden = dense(HIDDEN, activation="relu")(inputs)
    hidden = dense(HIDDEN, activation="relu")(hidden)
    return keras.Model(inputs, dense(1, dtype="float32")(hidden), name=name)


def bayesian_cnn(prior_std=1.0):
    """The images lab's CNN with its Dense 128 and output layers made `BayesByBackprop`.

    Args:
        prior_std: the prior's standard deviation.

    Returns:
        A `keras.Sequential` of float images ``[N, 28, 28, 1]`` returning 10 logits.
    """
    deterministic = cnn_classifier()
    convolutions = deterministic.layers[:-2]  # Conv, Pool, Conv, Pool, Flatten
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            *convolutions,
            BayesByBackprop(128, activation="relu", prior_std=prior_std),
            BayesByBackprop(10, prior_std=prior_std, dtype="float32"),
        ],
        name="bayesian_cnn",
    )


def build_model(config, train_size, total_steps):
    """The config's wrapper around its task's network, compiled.

    Args:
        config: the run's `UncertaintyConfig`.
        train_size: training examples (Bayes by Backprop scales its KL by ``1 / train_size``).
        total_steps: the run's steps (the images' cosine decay runs over them).

    Returns:
        A compiled `UncertaintyWrapper`.
    """
    regression = config.task == "regression"
    task = "regression" if regression else "classification"
    network = regression_network if regression else cnn_classifier
    method = config.method
    if method == "deterministic":
        wrapper = Deterministic(network(), task=task)
    elif method == "mve":
        wrapper = MVEWrapper(network())
    elif method == "dropout":
        wrapper = DropoutWrapper(network(), samples=config.samples, rate=config.rate, task=task)
    elif method == "ensemble":
        build = (lambda: MVEWrapper(network())) if regression else network
        wrapper = EnsembleWrapper(build, members=config.members, seed=config.seed, task=task)
    elif method == "bayes":
        bayesian = regression_network(True, config.prior_std) if regression else bayesian_cnn(config.prior_std)
        wrapper = BayesianModel(bayesian, samples=config.samples, train_size=train_size, task=task)
    else:  # vae
        wrapper = VAEWrapper(network(), latent_dim=config.latent_dim, seed=config.seed)
    rate = config.learning_rate_value
    if not regression:
        rate = keras.optimizers.schedules.CosineDecay(rate, decay_steps=total_steps)
    wrapper.compile(keras.optimizers.Adam(rate))
    return wrapper
