"""Lab 2 part 1: train, evaluate, plot and export a digit / clothing classifier."""

import json
import pathlib

import numpy as np

from mit_dl import evaluation, plots
from mit_dl.data import images as image_data

# The course's recipes: dense network with SGD 0.1, CNN with Adam 1e-3, batch 64.
RECIPES = {
    "dense": {"builder": "dense_classifier", "optimizer": ("SGD", 0.1)},
    "cnn": {"builder": "cnn_classifier", "optimizer": ("Adam", 1e-3)},
}


def _model_and_optimizer(model_name):
    import keras

    from mit_dl.models import classifiers

    if model_name not in RECIPES:
        raise ValueError(f"unknown model {model_name!r}; choose one of {sorted(RECIPES)}.")
    recipe = RECIPES[model_name]
    name, learning_rate = recipe["optimizer"]
    return getattr(classifiers, recipe["builder"])(), getattr(keras.optimizers, name)(learning_rate)


def load_split(dataset, data_dir=None, holdout_from_test=None, seed=0):
    """``(train, test, source)`` arrays. ``holdout_from_test=k`` trains on ``k`` of the
    test images and tests on the rest (for real MNIST when only its test set is at hand)."""
    if holdout_from_test:
        images, labels, source = image_data.load_arrays(dataset, "test", data_dir)
        if not 0 < holdout_from_test < len(images):
            raise ValueError(f"--split-test must be between 1 and {len(images) - 1}, received {holdout_from_test}.")
        train, test = image_data.split_arrays(images, labels, holdout_from_test, seed=seed)
        return train, test, f"{source} split {holdout_from_test}/{len(images) - holdout_from_test}"
    train_images, train_labels, source = image_data.load_arrays(dataset, "train", data_dir)
    test_images, test_labels, _ = image_data.load_arrays(dataset, "test", data_dir)
    return (train_images, train_labels), (test_images, test_labels), source


def predict_probabilities(model, images, batch_size=512):
    import tensorflow as tf

    data = image_data.to_dataset(images, np.zeros(len(images), np.int32), batch_size)
    logits = np.concatenate([model(x, training=False).numpy() for x, _ in data])
    return tf.nn.softmax(logits).numpy()


def train(dataset="fashion_mnist", model_name="cnn", epochs=5, batch_size=64, data_dir=None, out_dir="runs/images",
          seed=0, holdout_from_test=None, export=True, log=print):
    """Train one classifier; write checkpoints, plots, metrics.json and the SavedModel to ``out_dir``."""
    # Data first: a missing dataset is reported before TensorFlow is even imported.
    (train_x, train_y), (test_x, test_y), source = load_split(dataset, data_dir, holdout_from_test, seed)
    import keras

    from mit_dl.export import export_savedmodel, image_classifier_endpoint
    from mit_dl.training import Trainer

    out = pathlib.Path(out_dir)
    log(f"data: {dataset} from {source}: {len(train_x)} train / {len(test_x)} test images")
    keras.utils.set_random_seed(seed)
    model, optimizer = _model_and_optimizer(model_name)
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
    shown = np.concatenate([np.arange(18), wrong])
    plots.prediction_grid(test_x[shown], probabilities[shown], test_y[shown], names, out / "predictions.png")
    plots.confusion_matrix(report["confusion_matrix"], names, out / "confusion_matrix.png",
                           title=f"{model_name} on {dataset}: accuracy {100 * report['accuracy']:.2f}%")
    plots.training_curves(history, out / "training_curves.png", title=f"{model_name} on {dataset}")
    metrics = {"dataset": dataset, "source": source, "model": model_name, "epochs": epochs,
               "batch_size": batch_size, "seed": seed, "history": history, "test": report}
    if export:
        export_savedmodel(model, out / "saved_model",
                          endpoints={"classify": image_classifier_endpoint(model, 28, 28, 1)},
                          metadata={"dataset": dataset, "class_names": names, "test_accuracy": report["accuracy"],
                                    "recipe": RECIPES[model_name], "epochs": epochs, "seed": seed,
                                    "holdout_from_test": holdout_from_test, "data_source": source})
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    log(f"test accuracy {100 * report['accuracy']:.2f}% "
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
