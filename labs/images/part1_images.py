# %% [markdown]
# # Lab 2, part 1: Image classification with MNIST
#
# MIT 6.S191 with the `mit_dl` companion package. We classify handwritten digits (lecture 3), first
# with a fully connected network, then with a convolutional network (CNN), both trained by your own
# `tf.GradientTape` step.
#
# Data: MNIST is read offline-first by `mit_dl.data.mnist` (a folder in `$MIT_DL_DATA`, Keras'
# cache, or a tensorflow-datasets download when online). When only MNIST's 10,000 test images are
# at hand, we train on 8,000 of them and test on the other 2,000; set `DATASET = "fashion_mnist"` for
# clothing instead of digits.
#
# Cells marked `# TODO` are yours; a checker from `mit_dl.labs.images` follows each exercise.
# `QUICK = True` trains on at most 12,000 images for 3 epochs per model (about a minute on a laptop
# CPU); `QUICK = False` uses all training images for 5 epochs, as the course does.

# %%
from mit_dl.environment import quiet_tensorflow_startup

quiet_tensorflow_startup()  # TensorFlow without its C++ start-up lines (errors still show)

import pathlib

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from IPython.display import Image, display

from mit_dl import evaluation, labs, plots
from mit_dl.data import mnist as image_data
from mit_dl.images import ImagesConfig, figures
from mit_dl.images import data as images_data
from mit_dl.images.model import predict_probabilities
from mit_dl.labs import images as checks
from mit_dl.training import Trainer

QUICK = labs.quick_mode()
DATASET = "mnist"
OUT = pathlib.Path("images_outputs")
OUT.mkdir(exist_ok=True)

# %% [markdown]
# ## 1.1 The data

# %%
try:
    (train_images, train_labels), (test_images, test_labels), source = images_data.load_data(
        ImagesConfig(dataset=DATASET)
    )
except image_data.DatasetNotFound:
    print("Training images not found; splitting the test set instead.")
    (train_images, train_labels), (test_images, test_labels), source = images_data.load_data(
        ImagesConfig(dataset=DATASET, split_test=8000)
    )
if QUICK:
    train_images, train_labels = train_images[:12000], train_labels[:12000]
class_names = image_data.CLASS_NAMES[DATASET]
print(f"{source}: {len(train_images)} training and {len(test_images)} test images of {train_images.shape[1:]}")

plt.figure(figsize=(8, 8))
for i in range(25):
    plt.subplot(5, 5, i + 1)
    plt.imshow(train_images[i], cmap="gray")
    plt.title(class_names[train_labels[i]], fontsize=8)
    plt.axis("off")
plt.show()

# %% [markdown]
# ## 1.2 A fully connected network
#
# The image's 28 x 28 pixels are flattened into 784 inputs, then one hidden `Dense` layer of 128
# ReLU units, then 10 outputs: one *logit* per class (softmax turns logits into probabilities; we
# leave it to the loss, `from_logits=True`, which is numerically safer).
#
# **Exercise:** build `Flatten -> Dense(128, relu) -> Dense(10)` for inputs of shape `(28, 28, 1)`.


# %%
def build_fc_model():
    # TODO: return keras.Sequential([keras.Input((28, 28, 1)), Flatten, Dense(128, relu), Dense(10)])
    ### BEGIN SOLUTION
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10),
        ]
    )
    ### END SOLUTION


checks.check_dense_classifier(build_fc_model)

# %% [markdown]
# ## 1.3 The training step
#
# One step of gradient descent (lecture 1): forward pass, cross-entropy loss
# (`keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)`, averaged over
# the batch), gradients with `tf.GradientTape`, `optimizer.apply_gradients`. **Exercise:** write it.


# %%
def train_step(model, optimizer, images, labels):
    # TODO: on a tf.GradientTape compute the mean cross-entropy of model(images) against labels, apply its gradients, return it
    ### BEGIN SOLUTION
    with tf.GradientTape() as tape:
        logits = model(images, training=True)
        loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True))
    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables))
    ### END SOLUTION
    return loss


checks.check_train_step(train_step)

# %% [markdown]
# `mit_dl.training.Trainer` runs your step compiled with `tf.function` over a shuffled `tf.data`
# pipeline (`mit_dl.data.mnist.to_dataset`). The course trains the dense network with SGD at
# learning rate 0.1 and batch 64.

# %%
EPOCHS = 3 if QUICK else 5
train_data = image_data.to_dataset(train_images, train_labels, batch_size=64, shuffle=True, seed=0)


def train(model, optimizer):
    trainer = Trainer(model, optimizer, train_step=lambda batch: {"loss": train_step(model, optimizer, *batch)})
    return trainer.fit(train_data, epochs=EPOCHS)


def test_accuracy(model):
    probabilities = predict_probabilities(model, test_images)
    report = evaluation.classification_report(test_labels, probabilities, class_names)
    low, high = report["accuracy_95ci"]
    print(f"test accuracy {100 * report['accuracy']:.2f}% (95% interval {100 * low:.1f}-{100 * high:.1f}%)")
    return probabilities, report


keras.utils.set_random_seed(0)
fc_model = build_fc_model()
fc_history = train(fc_model, keras.optimizers.SGD(0.1))
fc_probabilities, fc_report = test_accuracy(fc_model)

# %% [markdown]
# ## 1.4 A convolutional network
#
# Convolutions look at small neighbourhoods with shared weights, so they find strokes and curves
# wherever they are (lecture 3). The lab's CNN:
#
# `Conv2D(24, 3, relu) -> MaxPool2D(2) -> Conv2D(36, 3, relu) -> MaxPool2D(2) -> Flatten ->
# Dense(128, relu) -> Dense(10)`
#
# **Exercise:** build it.


# %%
def build_cnn_model():
    # TODO: return the lab's CNN as a keras.Sequential starting with keras.Input((28, 28, 1))
    ### BEGIN SOLUTION
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(24, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(36, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10),
        ]
    )
    ### END SOLUTION


checks.check_cnn(build_cnn_model)

# %%
keras.utils.set_random_seed(0)
cnn_model = build_cnn_model()
cnn_model.summary()
cnn_history = train(cnn_model, keras.optimizers.Adam(1e-3))
cnn_probabilities, cnn_report = test_accuracy(cnn_model)

# %% [markdown]
# ## 1.5 What does it get wrong?
#
# Test images with the CNN's guess and its probability (mistakes in red first), and the confusion
# matrix (`mit_dl.plots` writes the figures as PNG files).

# %%
guesses = cnn_probabilities.argmax(1)
shown = np.concatenate([np.flatnonzero(guesses != test_labels)[:6], np.flatnonzero(guesses == test_labels)[:6]])
display(
    Image(
        str(
            figures.prediction_grid(
                test_images[shown], cnn_probabilities[shown], test_labels[shown], class_names, OUT / "predictions.png"
            )
        )
    )
)
display(Image(str(plots.confusion_matrix(cnn_report["confusion_matrix"], class_names, OUT / "confusion.png"))))
print(
    f"dense network {100 * fc_report['accuracy']:.2f}% vs CNN {100 * cnn_report['accuracy']:.2f}% on "
    f"{len(test_images)} test images"
)

# %% [markdown]
# Going further: `mit-dl images train --dataset fashion_mnist --model cnn` trains with checkpoints,
# writes these plots and exports a SavedModel that takes raw uint8 images.
# Fashion-MNIST is harder than digits: the course's recipe reaches about 89.7% there in 5 epochs.
# `--recipe cosine` keeps the model, optimiser, batch size and epochs but starts from a higher
# learning rate and lowers it to zero along a cosine, which gives about 91.1% (README); choose such
# settings on held-out training images (`--validation 5000`), never on the test set.
