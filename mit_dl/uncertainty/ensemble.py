"""Deep ensembles (Lakshminarayanan et al. 2017): N networks from different random starts, their agreement.

Each member is the same architecture, built by one builder under a
different seed, and trained on the same batches; the random initialisation
alone sends the members to different solutions, which agree where the data
pinned the function down and disagree away from the data. The members'
disagreement is the epistemic uncertainty, decomposed as for MC dropout
(`mit_dl.uncertainty.summaries`). Members that predict their own noise
(`MVEWrapper`) add the aleatoric part for regression, as in the paper.

All members run inside the wrapper's one call, so a compiled prediction
evaluates them in one graph (the runtime overlaps them); `predict_members`
does the same one member at a time for comparison (`benchmarks/uncertainty.py`).
"""

import keras
import tensorflow as tf

from mit_dl.errors import ConfigError
from mit_dl.uncertainty.summaries import summarise
from mit_dl.uncertainty.wrapper import UncertaintyWrapper, check_count, task_loss


def _stacked(pairs):
    """``(outputs [M, ...], variances [M, ...] or None)`` from the members' ``(output, variance)`` pairs."""
    variances = [v for _, v in pairs]
    return tf.stack([out for out, _ in pairs]), (tf.stack(variances) if all(v is not None for v in variances) else None)


class EnsembleWrapper(UncertaintyWrapper):
    """A deep ensemble of ``members`` models from one builder with seeds ``seed, seed + 1, ...``.

    Args:
        builder: a function of no arguments returning a new built Keras model (logits for
            classification, predictions or an `MVEWrapper` for regression). It is called once per
            member after ``keras.utils.set_random_seed(seed + i)``, so each member starts from its own
            weights.
        members: ``N``, at least 1 (5 in the paper).
        seed: the first member's seed.
        task: ``"classification"`` or ``"regression"``.
        **kwargs: `keras.Model`'s (``name``, ...).

    Call arguments:
        inputs: what the members take.
        training: passed to every member.

    Returns:
        Classification: ``{"probabilities", "entropy", "aleatoric", "epistemic", "variance"}``;
        regression: ``{"prediction", "epistemic"}``, plus ``"aleatoric"`` when the members are MVE wrappers.

    Raises:
        ConfigError: ``members`` < 1, or a builder returning something other than a Keras model.

    Examples:
        >>> build = lambda: keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
        >>> ensemble = EnsembleWrapper(build, members=3)
        >>> out = ensemble(keras.ops.ones((2, 4)))
        >>> epistemic = out["epistemic"]
        >>> tuple(out["probabilities"].shape), bool(epistemic[0] > 0)
        ((2, 3), True)
    """

    def __init__(self, builder, members=5, seed=0, task="classification", **kwargs):
        kwargs.setdefault("name", "ensemble")
        super().__init__(task=task, **kwargs)
        check_count("members", members)
        self.seed = seed
        self.members = []
        for i in range(members):
            keras.utils.set_random_seed(seed + i)
            member = builder()
            if not isinstance(member, keras.Model):
                raise ConfigError("builder", f"must return a Keras model, returned {type(member).__name__}")
            self.members.append(member)

    def _member_outputs(self, member, inputs, training):
        out = member(inputs, training=training)
        if isinstance(out, dict):  # an MVE member: its mean and its noise variance
            return out["prediction"], out.get("aleatoric")
        return tf.cast(out, tf.float32), None

    def member_outputs(self, inputs, training=False):
        """Every member's outputs, stacked.

        Args:
            inputs: a batch.
            training: passed to the members.

        Returns:
            ``(outputs [N_members, B, ...], variances [N_members, B, ...] or None)``: logits or
            predictions, and MVE members' variances.
        """
        return _stacked([self._member_outputs(member, inputs, training) for member in self.members])

    def call(self, inputs, training=False):
        return summarise(self.task, *self.member_outputs(inputs, training))

    def predict_members(self, inputs):
        """The ensemble's prediction computed one member at a time (each member its own call).

        The reference `benchmarks/uncertainty.py` times the one-call prediction against.

        Args:
            inputs: a batch.

        Returns:
            What ``call`` returns.
        """
        return summarise(self.task, *_stacked([self._member_outputs(member, inputs, False) for member in self.members]))

    def training_losses(self, inputs, targets):
        """The members' losses on the batch, summed: each member's gradient is its own loss's.

        Args:
            inputs: a batch of inputs.
            targets: their targets.

        Returns:
            ``(losses [N], parts)``: one loss per example, and ``{name: [N]}`` parts to log.
        """
        total, parts = 0.0, {}
        for i, member in enumerate(self.members):
            if isinstance(member, UncertaintyWrapper):
                loss, _ = member.training_losses(inputs, targets)
            else:
                loss = task_loss(self.task, targets, member(inputs, training=True))
            parts[f"member_{i}"] = loss
            total += loss
        return total, parts
