"""How good generated images are, and how disentangled a latent space is, without Inception weights.

No Inception network can be downloaded here, so sample quality is measured
in the features of a classifier trained on the same dataset (the images
lab's CNN, its penultimate layer); the formulas are those of the papers:

- Fréchet distance (Heusel et al. 2017) between Gaussians fitted to two
  feature sets: ``||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2))``;
- kernel distance (KID, Bińkowski et al. 2018): the unbiased squared MMD with
  the cubic polynomial kernel ``k(x, y) = (x.y / d + 1)^3``, averaged over
  subsets, with its standard error;
- class coverage: the share of samples a classifier puts in each class, and
  its KL divergence to uniform (mode collapse shows as empty classes);
- the 1-nearest-neighbour two-sample test (Lopez-Paz and Oquab 2017): the
  leave-one-out accuracy of a 1-NN classifier telling the two sets apart,
  0.5 when they are indistinguishable, 1.0 when they are separate;
- the mutual information gap (MIG, Chen et al. 2018): per true factor, the
  gap between the two latent dimensions that carry most information about
  it, divided by the factor's entropy, averaged over factors. It is per
  factor, so one dimension that carries two factors is not penalised.

Everything here is NumPy on feature arrays, so any feature extractor works.
"""

import numpy as np


def _features(x, name):
    x = np.asarray(x, np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"{name} must be a [N, D] array of at least two feature vectors, received shape {x.shape}.")
    return x


def _sqrt_psd(matrix):
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance(features_a, features_b, ridge=1e-6):
    """Fréchet distance between Gaussians fitted to two feature sets.

    ``tr((S_a S_b)^(1/2))`` is computed as the trace of the square root of the
    symmetric ``S_a^(1/2) S_b S_a^(1/2)`` (same eigenvalues, no complex
    round-off); ``ridge`` is added to both covariances' diagonals for stability.

    Args:
        features_a: ``[N, D]`` features of one set.
        features_b: ``[M, D]`` features of the other.
        ridge: added to the covariances' diagonals.

    Returns:
        The distance, >= 0 (about 0 for identical sets).

    Examples:
        >>> x = np.random.default_rng(0).normal(size=(500, 4))
        >>> round(frechet_distance(x, x), 6)
        0.0
    """
    a, b = _features(features_a, "features_a"), _features(features_b, "features_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"the feature sets have {a.shape[1]} and {b.shape[1]} dimensions; they must match.")
    eye = ridge * np.eye(a.shape[1])
    cov_a, cov_b = np.cov(a, rowvar=False) + eye, np.cov(b, rowvar=False) + eye
    root_a = _sqrt_psd(cov_a)
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ cov_b @ root_a), 0.0, None)).sum()
    distance = np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2.0 * cross
    return float(max(distance, 0.0))


def kernel_distance(features_a, features_b, subsets=10, subset_size=1000, seed=0):
    """KID: the unbiased squared MMD with a cubic polynomial kernel, over random subsets.

    Args:
        features_a: ``[N, D]`` features of one set.
        features_b: ``[M, D]`` features of the other.
        subsets: how many subset pairs are drawn.
        subset_size: examples per subset (at most the smaller set's size).
        seed: the subsets' seed.

    Returns:
        ``(mean, standard_error)`` over the subsets; the mean is unbiased, so
        it can be slightly below 0 for sets from one distribution.
    """
    a, b = _features(features_a, "features_a"), _features(features_b, "features_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"the feature sets have {a.shape[1]} and {b.shape[1]} dimensions; they must match.")
    if subsets < 1:
        raise ValueError(f"subsets must be at least 1, received {subsets!r}.")
    m = min(subset_size, len(a), len(b))
    rng = np.random.default_rng(seed)
    dim = a.shape[1]
    estimates = []
    for _ in range(subsets):
        x, y = a[rng.choice(len(a), m, replace=False)], b[rng.choice(len(b), m, replace=False)]
        k_xx, k_yy, k_xy = ((x @ x.T) / dim + 1) ** 3, ((y @ y.T) / dim + 1) ** 3, ((x @ y.T) / dim + 1) ** 3
        within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
        estimates.append(within - 2.0 * k_xy.mean())
    estimates = np.asarray(estimates)
    error = estimates.std(ddof=1) / np.sqrt(subsets) if subsets > 1 else float("nan")
    return float(estimates.mean()), float(error)


def class_coverage(predicted_classes, num_classes):
    """How a classifier spreads generated samples over the classes.

    Args:
        predicted_classes: ``[N]`` class ids a classifier gives the samples.
        num_classes: number of classes.

    Returns:
        ``{"shares": [share per class], "kl_to_uniform": nats, "smallest_share", "largest_share"}``;
        a one-class set has ``kl_to_uniform = log(num_classes)``.

    Examples:
        >>> coverage = class_coverage([3, 3, 3], 10)
        >>> coverage["largest_share"], round(coverage["kl_to_uniform"], 4)
        (1.0, 2.3026)
    """
    predicted = np.asarray(predicted_classes, np.int64).reshape(-1)
    if len(predicted) == 0:
        raise ValueError("no samples to measure coverage on.")
    if predicted.min() < 0 or predicted.max() >= num_classes:
        raise ValueError(f"class ids must be in 0..{num_classes - 1}, found {predicted.min()}..{predicted.max()}.")
    shares = np.bincount(predicted, minlength=num_classes) / len(predicted)
    present = shares > 0
    kl = float(np.sum(shares[present] * np.log(shares[present] * num_classes)))
    return {
        "shares": shares.tolist(),
        "kl_to_uniform": kl,
        "smallest_share": float(shares.min()),
        "largest_share": float(shares.max()),
    }


def nearest_neighbour_accuracy(features_a, features_b, chunk=2048):
    """Leave-one-out accuracy of a 1-nearest-neighbour classifier telling two equal-size sets apart.

    Args:
        features_a: ``[N, D]`` features of one set.
        features_b: ``[N, D]`` features of the other (the same N).
        chunk: rows of the distance matrix computed at once (memory: ``chunk * 2N`` floats).

    Returns:
        The accuracy: about 0.5 for sets from one distribution, 1.0 for separate ones.
    """
    a, b = _features(features_a, "features_a"), _features(features_b, "features_b")
    if a.shape != b.shape:
        raise ValueError(f"the 1-NN test needs two sets of one shape, received {a.shape} and {b.shape}.")
    points = np.concatenate([a, b])
    labels = np.r_[np.zeros(len(a)), np.ones(len(b))]
    squared = np.sum(points**2, axis=1)
    nearest = np.empty(len(points), np.int64)
    for start in range(0, len(points), chunk):  # rows in chunks: 2 x 10,000 points stay within memory
        rows = slice(start, start + chunk)
        distances = squared[rows, None] + squared[None, :] - 2.0 * points[rows] @ points.T
        distances[np.arange(len(distances)), np.arange(start, start + len(distances))] = np.inf  # leave one out
        nearest[rows] = np.argmin(distances, axis=1)
    return float(np.mean(labels[nearest] == labels))


def _entropy(counts):
    p = counts[counts > 0] / counts.sum()
    return float(-np.sum(p * np.log(p)))


def _mutual_information(x, y):
    """Mutual information in nats of two integer-coded variables."""
    joint = np.zeros((x.max() + 1, y.max() + 1))
    np.add.at(joint, (x, y), 1)
    return _entropy(joint.sum(1)) + _entropy(joint.sum(0)) - _entropy(joint.ravel())


def mutual_information_gap(factors, latents, bins=20):
    """MIG: per factor, the gap between the two most informative latent dimensions over the factor's entropy.

    Each latent dimension is discretised into ``bins`` equal-width bins over its
    range (as Chen et al. do); factors are integer codes.

    Args:
        factors: int ``[N, K]`` true factor codes (e.g. `Sprites.factors`).
        latents: ``[N, D]`` latent means, ``D >= 2``.
        bins: bins per latent dimension.

    Returns:
        ``{"mig": mean over factors, "per_factor": [gap per factor], "mutual_information": [[K x D] nats]}``;
        about 1 when each factor is copied by one dimension, about 0 for noise.
    """
    factors = np.asarray(factors, np.int64)
    latents = np.asarray(latents, np.float64)
    if factors.ndim != 2 or latents.ndim != 2 or len(factors) != len(latents):
        raise ValueError(
            f"factors [N, K] and latents [N, D] must have one row per example, received {factors.shape} and "
            f"{latents.shape}."
        )
    if latents.shape[1] < 2:
        raise ValueError("MIG compares the two most informative latent dimensions: give at least two.")
    low, high = latents.min(0), latents.max(0)
    width = np.where(high > low, high - low, 1.0)
    codes = np.clip(((latents - low) / width * bins).astype(np.int64), 0, bins - 1)
    information = np.array(
        [
            [_mutual_information(factors[:, k], codes[:, j]) for j in range(latents.shape[1])]
            for k in range(factors.shape[1])
        ]
    )
    gaps = []
    for k in range(factors.shape[1]):
        entropy = _entropy(np.bincount(factors[:, k]))
        top = np.sort(information[k])[::-1]
        gaps.append(float((top[0] - top[1]) / entropy) if entropy > 0 else 0.0)
    return {"mig": float(np.mean(gaps)), "per_factor": gaps, "mutual_information": information.tolist()}
