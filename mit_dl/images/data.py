"""Lab 2 part 1 data: a config's training and evaluation images, as arrays and tf.data pipelines.

The images themselves come from the shared offline-first loader
`mit_dl.data.mnist` (MNIST and Fashion-MNIST).
"""

from mit_dl.data import mnist
from mit_dl.errors import ConfigError


def load_data(config):
    """The training and evaluated images of an `ImagesConfig`.

    ``split_test=k`` trains on ``k`` of the test images and tests on the rest
    (for real MNIST when only its test set is at hand). ``validation=k`` holds
    ``k`` training images out and evaluates on them instead of the test set
    (to choose a recipe without looking at the test set).

    Args:
        config: the run's `ImagesConfig`.

    Returns:
        ``((train_x, train_y), (test_x, test_y), source)``.

    Raises:
        ConfigError: ``split_test`` or ``validation`` leaves no image on one side.
        DatasetNotFound: the dataset is nowhere to be found.
    """
    split = "test" if config.split_test else "train"
    images, labels, source = mnist.load_arrays(config.dataset, split, config.data)
    if config.split_test or config.validation:
        first = config.split_test or len(images) - config.validation
        field = "split_test" if config.split_test else "validation"
        if not 0 < first < len(images):
            raise ConfigError(field, f"must be between 1 and {len(images) - 1}, received {getattr(config, field)}")
        train, test = mnist.split_arrays(images, labels, first, seed=config.seed)
        what = "split" if config.split_test else "validation split"
        return train, test, f"{source} {what} {first}/{len(images) - first}"
    test_images, test_labels, _ = mnist.load_arrays(config.dataset, "test", config.data)
    return (images, labels), (test_images, test_labels), source


def pipelines(config, train, test):
    """The training and evaluation pipelines from array pairs.

    Args:
        config: the run's `ImagesConfig` (batch size, seed).
        train: ``(images, labels)`` to train on.
        test: ``(images, labels)`` to evaluate on.

    Returns:
        ``(training batches shuffled with the seed, evaluation batches of 512)``.
    """
    return (mnist.to_dataset(*train, config.batch_size, shuffle=True, seed=config.seed), mnist.to_dataset(*test, 512))
