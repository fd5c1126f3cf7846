# %% [markdown]
# # Lecture 3 lab: beyond classification — upsampling, boxes, and what a CNN looks at
#
# MIT 6.S191 with the `mit_dl` companion package. Lecture 3 ends where classification ends: a
# segmentation network gives a class to every **pixel** (it goes down with strided convolutions and
# back up with **transposed** convolutions), a detector gives a **box** and a class to every object
# (and non-maximum suppression keeps one box per object). Then the question the lecture's last slides
# ask: what does a trained CNN actually look at, and how easily is it fooled?
#
# You will write the output size of a transposed convolution, the IoU of two boxes, non-maximum
# suppression, Grad-CAM's channel weights and the fast gradient sign attack, check each, and use
# them on the images lab's CNN trained on real Fashion-MNIST. Cells marked `# TODO` are yours; a
# checker from `mit_dl.labs.vision` follows each exercise. `QUICK = True` trains the CNN on 3,000
# images for 3 epochs (seconds on a laptop CPU, about 80% test accuracy); `QUICK = False` on all
# 60,000 for the course's 5 epochs (about 90%). `mit-dl vision train` trains the lab's segmenters
# and detector on scenes of real digits; the docs page has their measured results.

# %%
from mit_dl.environment import quiet_tensorflow_startup

quiet_tensorflow_startup()  # TensorFlow without its C++ start-up lines (errors still show)

import pathlib

import numpy as np
import tensorflow as tf
from IPython.display import Image, display

from mit_dl import labs, plots
from mit_dl.data import mnist
from mit_dl.images import ImagesConfig, train
from mit_dl.labs import vision as checks
from mit_dl.vision import adversarial, attribution, figures, metrics
from mit_dl.vision.scenes import make_scenes

QUICK = labs.quick_mode()
OUT = pathlib.Path("vision_outputs")
OUT.mkdir(exist_ok=True)

# %% [markdown]
# ## 3.1 Going back up: the transposed convolution
#
# A convolution with kernel `k` and stride `s` maps `n` pixels to `(n - k) // s + 1` ("valid") or
# `ceil(n / s)` ("same"). A **transposed** convolution runs that map backwards: every input pixel
# paints a `k x k` copy of the kernel, scaled by its value, onto the output, its copies `s` pixels
# apart. With "valid" padding the output is `(n - 1) * s + k` pixels; Keras' "same" crops it to
# exactly `n * s`, so a stride-2 layer doubles the size — the FCN's way back to full resolution.
#
# **Exercise:** the output size of `keras.layers.Conv2DTranspose(kernel, strides=stride, padding=padding)`.


# %%
def transposed_output_size(n, kernel, stride, padding):
    # TODO: (n - 1) * stride + kernel for "valid", n * stride for "same"
    ### BEGIN SOLUTION
    return n * stride if padding == "same" else (n - 1) * stride + kernel
    ### END SOLUTION


checks.check_transposed_conv_size(transposed_output_size)

# %% [markdown]
# ## 3.2 Boxes: intersection over union
#
# A box here is `(y_min, x_min, y_max, x_max)` in pixels, the ends **exclusive** (a box from 0 to 10
# covers 10 pixels), as `tf.image` has them. Two boxes' overlap is `IoU = |A ∩ B| / |A ∪ B|`, where
# the union is `|A| + |B| - |A ∩ B|`; boxes that do not meet have IoU 0. A detection counts as right
# when its IoU with a true box of its class is at least 0.5 (COCO also averages over 0.5 to 0.95).
#
# **Exercise:** the IoU of each pair `a[i]`, `b[i]` (NumPy arrays `[N, 4]`; return `[N]`).


# %%
def box_iou(a, b):
    # TODO: the overlap's height and width (clipped at 0), its area, and the union = area a + area b - overlap
    ### BEGIN SOLUTION
    height = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    width = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    overlap = height * width
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return overlap / (area_a + area_b - overlap)
    ### END SOLUTION


checks.check_box_iou(box_iou)

# %% [markdown]
# ## 3.3 One box per object: non-maximum suppression
#
# A single-shot detector proposes many boxes around each object. NMS keeps the best: take the
# highest-scoring box, drop every remaining box whose IoU with it is above the threshold, and repeat
# with the best of what is left. `tf.image.non_max_suppression` does exactly this (the lab's exported
# detector runs it inside its signature).
#
# **Exercise:** return the indices kept, best first.


# %%
def non_max_suppression(boxes, scores, iou_threshold):
    # TODO: repeatedly keep the best remaining box and drop the boxes overlapping it by more than the threshold
    ### BEGIN SOLUTION
    order = list(np.argsort(-scores, kind="stable"))
    kept = []
    while order:
        best = order.pop(0)
        kept.append(best)
        order = [i for i in order if box_iou(boxes[[best]], boxes[[i]])[0] <= iou_threshold]
    return np.array(kept)
    ### END SOLUTION


checks.check_non_max_suppression(non_max_suppression)

# %% [markdown]
# Your NMS on scenes of the lab's benchmark: real MNIST digits pasted at random sizes over clutter
# (strokes, gradients, fragments of other digits that are not objects). Each true box is proposed
# five times, jittered, with random scores; NMS should leave about one box per digit.

# %%
digits, labels, _ = mnist.load_arrays("mnist", "test")
scenes = make_scenes(digits[:500], labels[:500], count=4, seed=1)
rng = np.random.default_rng(0)
found = []
for i in range(len(scenes)):
    true_boxes, true_classes = scenes.objects(i)
    proposals = np.repeat(true_boxes, 5, axis=0) + rng.normal(0, 2, (5 * len(true_boxes), 4)).astype(np.float32)
    scores = rng.uniform(0.3, 1.0, len(proposals)).astype(np.float32)
    keep = non_max_suppression(proposals, scores, 0.5)
    found.append((proposals[keep], scores[keep], np.repeat(true_classes, 5)[keep]))
    print(f"scene {i}: {len(true_boxes)} digits, {len(proposals)} proposals, {len(keep)} kept")
truths = [scenes.objects(i) for i in range(len(scenes))]
report = metrics.detection_report(found, truths, mnist.CLASS_NAMES["mnist"])
print(f"kept boxes: mAP@0.5 {report['map_50']:.3f}, mAP@[0.5:0.95] {report['map']:.3f} (jitter costs strict IoUs)")
figures.detection_grid(scenes.images, found, truths, OUT / "nms.png", mnist.CLASS_NAMES["mnist"])
display(Image(str(OUT / "nms.png")))

# %% [markdown]
# ## 3.4 A CNN to look inside
#
# The images lab's CNN (two convolutions, two poolings, a dense layer) on real Fashion-MNIST.

# %%
config = ImagesConfig(dataset="fashion_mnist", model="cnn", epochs=3, split_test=3000) if QUICK else ImagesConfig()
run_dir = OUT / ("cnn-quick" if QUICK else "cnn")
result = train.train(config, run_dir, export=False)
from mit_dl.vision.evaluate import trained_model  # noqa: E402
from mit_dl.vision.inspect import examples

cnn, _ = trained_model(run_dir)
test_images, test_labels, names = examples(config, 300)
print(f"test accuracy on the first 300 test images: {adversarial.accuracy(cnn, test_images, test_labels):.3f}")

# %% [markdown]
# ## 3.5 Grad-CAM's weights
#
# Grad-CAM explains the class score `S_c` with the last convolution's feature maps `A^k`: each map
# gets the weight `α_k = mean over positions (i, j) of ∂S_c / ∂A^k_ij` — how much, on average, the
# score rises when that map lights up — and the map is `ReLU(Σ_k α_k A^k)`, resized to the image.
#
# **Exercise:** the weights, from the maps `[N, h, w, K]` and their gradients of the same shape
# (return `[N, K]`).


# %%
def grad_cam_weights(features, gradients):
    # TODO: average the gradients over the positions (axes 1 and 2); keep their sign
    ### BEGIN SOLUTION
    return tf.reduce_mean(gradients, axis=[1, 2])
    ### END SOLUTION


checks.check_grad_cam_weights(grad_cam_weights)

# %% [markdown]
# Every method of `mit_dl.vision.attribution` on three test images: vanilla gradients, SmoothGrad
# (gradients averaged over noisy copies), Grad-CAM, integrated gradients (whose attributions add up
# to the score's change from a black image), and occlusion (the probability lost when a square is
# greyed out). The **sanity check** of Adebayo et al. (2018) redraws the model's weights at random:
# a method whose map barely changes (rank correlation near 1) shows the image, not the model
# (`mit-dl vision explain --method ...` runs it for every method).

# %%
shown, classes = test_images[:3], test_labels[:3]
maps = {method: attribution.attribution_map(cnn, shown, classes, method) for method in attribution.METHODS}
signed = attribution.integrated_gradients(cnn, shown, classes)
gap = attribution.completeness_gap(cnn, shown, classes, signed)
print(f"integrated gradients: largest completeness gap {100 * np.abs(gap).max():.2f}% of S_c(x) - S_c(black)")
for method in ("saliency", "gradcam", "ig"):
    sanity = attribution.sanity_check(cnn, shown, classes, method)
    print(f"{method:10s} sanity check: rank correlation with a random model's maps {sanity['mean']:.2f}")
rows = [names[c] for c in classes]
figures.attribution_grid(shown, maps, OUT / "attributions.png", rows, "what the CNN looks at")
display(Image(str(OUT / "attributions.png")))

# %% [markdown]
# ## 3.6 Fooling it: the fast gradient sign method
#
# An adversarial example changes every pixel by at most `ε` in the direction that **raises** the loss:
# `x' = clip(x + ε · sign(∇_x L(f(x), y)), 0, 1)`. Each pixel moves by exactly `ε` (the sign, not the
# gradient's size), and the result stays an image. Here `ε` is a share of the [0, 1] range; the
# library's attacks take pixel units of 0-255 (`ε = 0.1` is 25.5 there).
#
# **Exercise:** FGSM on float images in [0, 1] (`model` returns logits, `labels` are class ids).


# %%
def fgsm(model, images, labels, epsilon):
    # TODO: the gradient of the cross-entropy with respect to the images, one step of epsilon up its sign, clipped
    ### BEGIN SOLUTION
    with tf.GradientTape() as tape:
        tape.watch(images)
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, model(images))
    return tf.clip_by_value(images + epsilon * tf.sign(tape.gradient(loss, images)), 0.0, 1.0)
    ### END SOLUTION


checks.check_fgsm_step(fgsm)

# %% [markdown]
# Accuracy against `ε` with your FGSM and with the library's PGD (ten smaller steps, projected back
# onto the `ε`-ball): changes a person can barely see take away much of the accuracy (the quick CNN
# keeps about a third at `ε = 0.1`; the course's 5-epoch CNN falls to 16% under FGSM there, see the
# vision lab's docs page). `mit-dl images train --adversarial-epsilon 25.5` trains against PGD
# instead; `mit-dl vision attack` compares such runs.

# %%
epsilons = [0.0, 0.02, 0.05, 0.1]
x = tf.constant(attribution.as_images(test_images))
y = tf.constant(test_labels)
yours = [adversarial.accuracy(cnn, fgsm(cnn, x, y, e).numpy(), test_labels) for e in epsilons]
pgd = adversarial.accuracy_curve(cnn, test_images, test_labels, [255 * e for e in epsilons], "pgd")["accuracy"]
for e, a, b in zip(epsilons, yours, pgd):
    print(f"epsilon {e:.2f}: your FGSM {100 * a:5.1f}%   PGD {100 * b:5.1f}%")
plots.curves({"your FGSM": (epsilons, yours), "PGD": (epsilons, pgd)}, OUT / "attack.png", "adversarial examples",
             "epsilon (share of the [0, 1] range)", "test accuracy")  # fmt: skip
display(Image(str(OUT / "attack.png")))
