"""From stochastic predictions to named uncertainties: the decomposition every epistemic wrapper reports.

Given ``T`` predictions of the same inputs (``T`` dropout masks, ``T``
ensemble members, ``T`` weight draws of a Bayesian network), with
``p_t = p(y | x, w_t)`` the class probabilities of draw ``t``:

    probabilities       p = (1/T) sum_t p_t                       (the prediction)
    entropy             H[p] = -sum_c p_c log p_c                  (total: predictive entropy)
    aleatoric           E_t H[p_t] = (1/T) sum_t H[p_t]            (expected entropy: noise in the labels)
    epistemic           H[p] - E_t H[p_t]                          (mutual information I(y; w | x))
    variance            (1/C) sum_c Var_t p_t,c                    (spread of the draws)

The mutual information is zero when every draw agrees and grows when the
draws disagree, whatever each one's own confidence: that is what makes it
*epistemic* (Depeweg et al. 2018; lecture 5). A classic mistake swaps the
two entropy terms (the entropy of the mean is the *total*, the mean of the
entropies the *aleatoric* part).

For regression with draws of means ``mu_t`` (and, for members that predict
their own noise, variances ``sigma_t^2``):

    prediction          mu = (1/T) sum_t mu_t
    epistemic           Var_t mu_t
    aleatoric           (1/T) sum_t sigma_t^2                       (when given)
"""

import tensorflow as tf


def classification_summary(probabilities):
    """The prediction and the entropy decomposition of ``T`` draws of class probabilities.

    Args:
        probabilities: ``[T, N, C]`` (each ``[N, C]`` row sums to 1).

    Returns:
        ``{"probabilities": [N, C], "entropy": [N], "aleatoric": [N], "epistemic": [N], "variance": [N]}``
        in float32 (nats).

    Examples:
        >>> draws = tf.constant([[[1.0, 0.0]], [[0.0, 1.0]]])  # two confident draws that disagree
        >>> out = classification_summary(draws)
        >>> epistemic, aleatoric = out["epistemic"], out["aleatoric"]
        >>> round(float(epistemic[0]), 4), round(float(aleatoric[0]), 4)
        (0.6931, 0.0)
    """
    p = tf.cast(probabilities, tf.float32)
    mean = tf.reduce_mean(p, axis=0)
    total = -tf.reduce_sum(tf.math.xlogy(mean, mean), axis=-1)
    expected = tf.reduce_mean(-tf.reduce_sum(tf.math.xlogy(p, p), axis=-1), axis=0)
    return {
        "probabilities": mean,
        "entropy": total,
        "aleatoric": expected,
        "epistemic": tf.maximum(total - expected, 0.0),  # >= 0 exactly; rounding can dip below
        "variance": tf.reduce_mean(tf.math.reduce_variance(p, axis=0), axis=-1),
    }


def regression_summary(means, variances=None):
    """The prediction and its epistemic (and aleatoric) variance from ``T`` draws of regression outputs.

    Args:
        means: ``[T, N, D]`` predicted means.
        variances: ``[T, N, D]`` predicted noise variances (MVE members), or None.

    Returns:
        ``{"prediction": [N, D], "epistemic": [N, D]}`` plus ``"aleatoric": [N, D]`` when ``variances`` are given.

    Examples:
        >>> out = regression_summary(tf.constant([[[1.0]], [[3.0]]]))
        >>> prediction, epistemic = out["prediction"], out["epistemic"]
        >>> float(prediction[0, 0]), float(epistemic[0, 0])
        (2.0, 1.0)
    """
    means = tf.cast(means, tf.float32)
    out = {"prediction": tf.reduce_mean(means, axis=0), "epistemic": tf.math.reduce_variance(means, axis=0)}
    if variances is not None:
        out["aleatoric"] = tf.reduce_mean(tf.cast(variances, tf.float32), axis=0)
    return out


def summarise(task, draws, variances=None):
    """The task's summary of ``T`` draws of a network's outputs.

    Args:
        task: ``"classification"`` (``draws`` are logits ``[T, N, C]``) or ``"regression"``.
        draws: ``[T, N, ...]``.
        variances: regression only: ``[T, N, D]`` noise variances of MVE draws, or None.

    Returns:
        `classification_summary` of the softmax of the draws, or `regression_summary`.
    """
    if task == "classification":
        return classification_summary(tf.nn.softmax(tf.cast(draws, tf.float32)))
    return regression_summary(draws, variances)
