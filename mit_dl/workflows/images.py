"""Lab 2 part 1: train, evaluate, plot and export a digit / clothing classifier."""

import json
import pathlib

import numpy as np

from mit_dl import evaluation, plots
from mit_dl.data import images as image_data
from mit_dl.workflows.run_directory import check_settings

# "course": the lab's recipes, constant learning rates (dense: SGD 0.1, CNN:
# Adam 1e-3). "cosine": the same optimisers, model, batch size and epochs, with
# the peak rate doubled (dense) or multiplied by 5 (CNN) and decayed to zero by a
# cosine over the run. Chosen on a validation split of the training images
# (`--validation 5000`), never on the test set; README has the numbers.
RECIPES = {
    "course": {"dense": {"optimizer": "SGD", "learning_rate": 0.1, "schedule": "constant"},
               "cnn": {"optimizer": "Adam", "learning_rate": 1e-3, "schedule": "constant"}},
    "cosine": {"dense": {"optimizer": "SGD", "learning_rate": 0.2, "schedule": "cosine"},
               "cnn": {"optimizer": "Adam", "learning_rate": 5e-3, "schedule": "cosine"}},
}
BUILDERS = {"dense": "dense_classifier", "cnn": "cnn_classifier"}


def recipe_settings(model_name, recipe="course", learning_rate=None):
    """The optimiser settings of ``recipe`` for ``model_name``, its (peak) rate replaced by ``learning_rate``."""
    if model_name not in BUILDERS:
        raise ValueError(f"unknown model {model_name!r}; choose one of {sorted(BUILDERS)}.")
    if recipe not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}; choose one of {sorted(RECIPES)}.")
    settings = dict(RECIPES[recipe][model_name])
    if learning_rate is not None:
        if not learning_rate > 0:
            raise ValueError(f"--learning-rate must be a positive number, received {learning_rate}.")
        settings["learning_rate"] = learning_rate
    return settings


def _model_and_optimizer(model_name, settings, total_steps=None):
    """The classifier and its optimiser from `recipe_settings`; a cosine schedule needs ``total_steps``."""
    import keras

    from mit_dl.models import classifiers

    learning_rate = settings["learning_rate"]
    if settings["schedule"] == "cosine":
        if not total_steps:
            raise ValueError("a cosine schedule needs the run's total number of steps.")
        learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=total_steps)
    optimizer = getattr(keras.optimizers, settings["optimizer"])(learning_rate)
    return getattr(classifiers, BUILDERS[model_name])(), optimizer


def load_split(dataset, data_dir=None, holdout_from_test=None, validation=None, seed=0):
    """``(train, test, source)`` arrays.

    ``holdout_from_test=k`` trains on ``k`` of the test images and tests on the
    rest (for real MNIST when only its test set is at hand). ``validation=k``
    holds ``k`` training images out and evaluates on them instead of the test
    set (for choosing a recipe without looking at the test set).
    """
    if holdout_from_test and validation:
        raise ValueError("--split-test and --validation cannot be combined; choose one.")
    split = "test" if holdout_from_test else "train"
    images, labels, source = image_data.load_arrays(dataset, split, data_dir)
    if holdout_from_test or validation:
        first = holdout_from_test or len(images) - validation
        option = "--split-test" if holdout_from_test else "--validation"
        if not 0 < first < len(images):
            raise ValueError(f"{option} must be between 1 and {len(images) - 1}, "
                             f"received {holdout_from_test or validation}.")
        train, test = image_data.split_arrays(images, labels, first, seed=seed)
        what = "split" if holdout_from_test else "validation split"
        return train, test, f"{source} {what} {first}/{len(images) - first}"
    test_images, test_labels, _ = image_data.load_arrays(dataset, "test", data_dir)
    return (images, labels), (test_images, test_labels), source


def predict_probabilities(model, images, batch_size=512):
    import tensorflow as tf

    data = image_data.to_dataset(images, np.zeros(len(images), np.int32), batch_size)
    logits = np.concatenate([model(x, training=False).numpy() for x, _ in data])
    return tf.nn.softmax(logits).numpy()


def train(dataset="fashion_mnist", model_name="cnn", epochs=5, batch_size=64, data_dir=None, out_dir="runs/images",
          seed=0, holdout_from_test=None, validation=None, recipe="course", learning_rate=None, export=True,
          precision="float32", log=print):
    """Train one classifier; write checkpoints, plots, metrics.json and the SavedModel to ``out_dir``.

    ``learning_rate`` replaces the recipe's (peak) rate. With ``validation=k``
    the reported "test" figures are those of the ``k`` held-out training
    images (see `load_split`). ``precision``: one of
    `mit_dl.training.precision.PRECISIONS` (mixed precision for GPUs).
    """
    settings = recipe_settings(model_name, recipe, learning_rate)
    # Data first: a missing dataset is reported before TensorFlow is even imported.
    (train_x, train_y), (test_x, test_y), source = load_split(dataset, data_dir, holdout_from_test, validation, seed)
    import keras

    from mit_dl.export import export_savedmodel, image_classifier_endpoint
    from mit_dl.training import Trainer
    from mit_dl.training.precision import precision_policy, precision_setting

    out = pathlib.Path(out_dir)
    # The epochs stay out: a resume may add some (a cosine schedule then stretches over them).
    check_settings(out, {"dataset": dataset, "model": model_name, "recipe": recipe, "learning_rate": learning_rate,
                         "batch_size": batch_size, "seed": seed, "split_test": holdout_from_test,
                         "validation": validation, **precision_setting(precision)})
    evaluated_on = "validation" if validation else "test"
    log(f"data: {dataset} from {source}: {len(train_x)} train / {len(test_x)} {evaluated_on} images")
    keras.utils.set_random_seed(seed)
    steps_per_epoch = -(-len(train_x) // batch_size)
    with precision_policy(precision):
        model, optimizer = _model_and_optimizer(model_name, settings, total_steps=epochs * steps_per_epoch)
        trainer = Trainer(
            model, optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"], checkpoint_dir=out / "checkpoints", log_dir=out / "logs",
        )
        train_data = image_data.to_dataset(train_x, train_y, batch_size, shuffle=True, seed=seed)
        test_data = image_data.to_dataset(test_x, test_y, 512)
        history = trainer.fit(train_data, epochs=epochs, validation_data=test_data)

    names = image_data.CLASS_NAMES[dataset]
    probabilities = predict_probabilities(model, test_x)
    report = evaluation.classification_report(test_y, probabilities, names)
    wrong = np.flatnonzero(probabilities.argmax(1) != test_y)[:6]
    shown = np.concatenate([np.arange(min(18, len(test_x))), wrong])  # first images, then mistakes
    plots.prediction_grid(test_x[shown], probabilities[shown], test_y[shown], names, out / "predictions.png")
    plots.confusion_matrix(report["confusion_matrix"], names, out / "confusion_matrix.png",
                           title=f"{model_name} on {dataset}: accuracy {100 * report['accuracy']:.2f}%")
    plots.training_curves(history, out / "training_curves.png", title=f"{model_name} on {dataset}")
    metrics = {"dataset": dataset, "source": source, "model": model_name, "recipe": recipe,
               "recipe_settings": settings, "epochs": epochs, "batch_size": batch_size,
               "seed": seed, "precision": precision, "evaluated_on": evaluated_on, "history": history,
               "test": report}
    if export:
        export_savedmodel(model, out / "saved_model",
                          endpoints={"classify": image_classifier_endpoint(model, 28, 28, 1)},
                          metadata={"dataset": dataset, "class_names": names,
                                    f"{evaluated_on}_accuracy": report["accuracy"],
                                    "recipe": recipe, "recipe_settings": settings,
                                    "epochs": epochs, "seed": seed, "holdout_from_test": holdout_from_test,
                                    "validation": validation, "precision": precision, "data_source": source})
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    log(f"{evaluated_on} accuracy {100 * report['accuracy']:.2f}% "
        f"(95% CI {100 * report['accuracy_95ci'][0]:.2f}-{100 * report['accuracy_95ci'][1]:.2f})")
    return metrics


def evaluate_export(model_dir, dataset=None, data_dir=None):
    """Accuracy of an exported classifier on a test split, through its ``classify`` signature."""
    from mit_dl.export import load_savedmodel

    served, metadata = load_savedmodel(model_dir)
    dataset = dataset or metadata.get("dataset")
    if dataset is None:
        raise ValueError(f"{model_dir} does not say which dataset it was trained on; pass --dataset.")
    test_x, test_y, source = image_data.load_arrays(dataset, "test", data_dir)
    holdout = metadata.get("holdout_from_test")
    if holdout:
        # Trained on part of the test split: evaluate on exactly the held-out rest.
        _, (test_x, test_y) = image_data.split_arrays(test_x, test_y, holdout, seed=metadata.get("seed", 0))
        source += f" (the {len(test_x)} images held out from training)"
    probabilities = np.concatenate([served.classify(test_x[i:i + 1000])["probabilities"].numpy()
                                    for i in range(0, len(test_x), 1000)])
    report = evaluation.classification_report(test_y, probabilities, image_data.CLASS_NAMES[dataset])
    return {"dataset": dataset, "source": source, **report}
