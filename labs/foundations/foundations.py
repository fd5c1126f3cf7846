# %% [markdown]
# # Lecture 1 lab: the foundations from scratch — backpropagation, optimizers, normalisation, initialisation
#
# MIT 6.S191 with the `mit_dl` companion package. Every other lab calls `tf.GradientTape`,
# `keras.optimizers.Adam` and `keras.layers.BatchNormalization` without looking inside. Here you
# write what they do: the gradients of a two-layer network by hand, the vector-Jacobian product of
# softmax cross-entropy, the backward pass of an automatic-differentiation engine, one step of
# Adam, batch normalisation's two modes and the standard deviations of Xavier's and He's
# initialisations. A checker from `mit_dl.labs.foundations` follows each exercise and names the
# usual mistake. Then you use the lab's versions (each equal to TensorFlow's, tested) to see why
# each piece matters. `QUICK = True` keeps every run to seconds on a laptop CPU.

# %%
from mit_dl.environment import quiet_tensorflow_startup

quiet_tensorflow_startup()  # TensorFlow without its C++ start-up lines (errors still show)

import pathlib

import keras
import numpy as np
from IPython.display import Image, display

from mit_dl import labs
from mit_dl.foundations import FoundationsConfig, autodiff, experiments, figures, initialisation, train
from mit_dl.foundations.normalization import BatchNorm
from mit_dl.labs import foundations as checks

QUICK = labs.quick_mode()
OUT = pathlib.Path("foundations_outputs")
OUT.mkdir(exist_ok=True)

# %% [markdown]
# ## 1.1 Backpropagation by hand
#
# A two-layer network on a batch of `N` examples: `z1 = x W1 + b1`, `h = relu(z1)`,
# `logits = h W2 + b2`, and the loss is the **mean** cross-entropy of the softmax. The chain rule,
# from the loss down:
#
#     dL/dlogits = (softmax(logits) - onehot(y)) / N
#     dL/dW2 = hᵀ dL/dlogits,        dL/db2 = sum over the batch of dL/dlogits
#     dL/dh  = dL/dlogits W2ᵀ,       dL/dz1 = dL/dh * (z1 > 0)
#     dL/dW1 = xᵀ dL/dz1,            dL/db1 = sum over the batch of dL/dz1
#
# **Exercise:** return the four gradients.


# %%
def mlp_gradients(x, labels, W1, b1, W2, b2):
    # TODO: forward pass, then the four gradients of the mean cross-entropy, as a dict W1, b1, W2, b2
    ### BEGIN SOLUTION
    z1 = x @ W1 + b1
    h = np.maximum(z1, 0)
    logits = h @ W2 + b2
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    d_logits = (p - np.eye(W2.shape[1])[labels]) / len(x)
    d_z1 = (d_logits @ W2.T) * (z1 > 0)
    return {"W1": x.T @ d_z1, "b1": d_z1.sum(0), "W2": h.T @ d_logits, "b2": d_logits.sum(0)}
    ### END SOLUTION


checks.check_mlp_backprop(mlp_gradients)

# %% [markdown]
# ## 1.2 Vector-Jacobian products
#
# Reverse-mode automatic differentiation never builds a Jacobian: each operation gets the gradient
# of the loss with respect to its output (the *upstream* gradient `g`) and returns `g J`, the
# gradient with respect to its input. For the mean softmax cross-entropy the product simplifies to
# `g (softmax(z) - onehot(y)) / N`: no `C x C` softmax Jacobian is ever formed.
#
# **Exercise:** return that VJP for logits `[N, C]`, labels `[N]` and a scalar `upstream`.


# %%
def softmax_cross_entropy_vjp(logits, labels, upstream):
    # TODO: upstream * (softmax(logits) - onehot(labels)) / N
    ### BEGIN SOLUTION
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return upstream * (p - np.eye(logits.shape[1])[labels]) / len(logits)
    ### END SOLUTION


checks.check_softmax_cross_entropy_vjp(softmax_cross_entropy_vjp)

# %% [markdown]
# ## 1.3 The backward pass of an autodiff engine
#
# `mit_dl.foundations.autodiff.Tensor` records, for every result, its parents and one VJP per
# parent (`tensor.parents` is a tuple of `(parent, vjp)` pairs). The backward pass visits the graph
# from the loss down in reverse topological order (`autodiff.topological_order(loss)` lists every
# tensor after the tensors it was computed from) and hands each parent `vjp(node.grad)`. A tensor
# used twice (`x * x`) receives two contributions: they must be **added**.
#
# **Exercise:** set `.grad` on every tensor `loss` depends on (start with `loss.grad = 1.0`).


# %%
def backward(loss):
    # TODO: reset every .grad to None, set loss.grad = 1.0, then add each parent's vjp(node.grad) to parent.grad
    ### BEGIN SOLUTION
    order = autodiff.topological_order(loss)
    for node in order:
        node.grad = None
    loss.grad = np.ones_like(loss.value)
    for node in reversed(order):
        if node.grad is None:
            continue
        for parent, vjp in node.parents:
            contribution = vjp(node.grad)
            parent.grad = contribution if parent.grad is None else parent.grad + contribution
    ### END SOLUTION


checks.check_backward_accumulates(backward)

# %% [markdown]
# The engine has the operations an MLP and a small CNN need (matmul, broadcasting, exp / log,
# tanh / sigmoid / ReLU, softmax cross-entropy, a convolution by im2col), and its gradients equal
# `GradientTape`'s in float64 to about 1e-13. With your `backward` it trains a network on three
# interleaved spirals, which no straight line separates:

# %%
from mit_dl.foundations.demo import spirals, tape_agreement

x, labels = spirals(seed=0)
parameters = autodiff.mlp_parameters((2, 32, 32, 3), seed=0)
print(f"largest relative difference to GradientTape: {tape_agreement(parameters, x, labels):.1e}")
losses = []
for _ in range(300 if QUICK else 2000):
    loss = autodiff.mlp_loss(parameters, x, labels)
    backward(loss)
    for p in parameters:
        p.value -= 1.0 * p.grad
    losses.append(float(loss.value))
print(f"loss {losses[0]:.3f} -> {losses[-1]:.3f}")
small = autodiff.Tensor(np.array([1.0, 2.0]), name="x")
autodiff.draw_graph(((small * small).tanh() + small).sum(), OUT / "graph.png", "sum(tanh(x * x) + x)")
display(Image(str(OUT / "graph.png")))

# %% [markdown]
# ## 1.4 Adam
#
# Adam keeps running averages of the gradient and of its square, `m <- b1 m + (1 - b1) g` and
# `v <- b2 v + (1 - b2) g²`, and steps `w <- w - lr m̂ / (sqrt(v̂) + eps)`. Both averages start at
# 0, so early on they are too small; the **bias correction** `m̂ = m / (1 - b1^t)`,
# `v̂ = v / (1 - b2^t)` (t counts steps from 1) undoes that.
#
# **Exercise:** return `(new w, new m, new v)`.


# %%
def adam_step(w, g, m, v, t, lr, beta_1, beta_2, epsilon):
    # TODO: update m and v, correct their bias with beta^t, step w
    ### BEGIN SOLUTION
    m = beta_1 * m + (1 - beta_1) * g
    v = beta_2 * v + (1 - beta_2) * g * g
    m_hat, v_hat = m / (1 - beta_1**t), v / (1 - beta_2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + epsilon), m, v
    ### END SOLUTION


checks.check_adam_step(adam_step)

# %% [markdown]
# The lab's optimizers (`mit_dl.foundations.optimizers`) are Keras optimizers written from these
# equations and equal to Keras' own for 100 steps. On a valley 25 times steeper one way than the
# other, plain gradient descent zig-zags; momentum and Adam do not:

# %%
measured = experiments.surfaces(OUT)
for name, row in measured["quadratic"].items():
    print(f"{name:9s} lr {row['rate']:<6g} distance to the minimum after 100 steps: {row['distance']:.2e}")
display(Image(str(OUT / "quadratic.png")))

# %% [markdown]
# ## 1.5 Batch normalisation
#
# In training, BatchNorm normalises each channel with the **batch's** mean and (biased) variance,
# `y = gamma (x - mean) / sqrt(var + eps) + beta`, and updates moving averages
# `avg <- momentum avg + (1 - momentum) batch`. At inference it uses the **moving** averages, so a
# prediction does not depend on the other examples of its batch.
#
# **Exercise:** return `(y, new moving_mean, new moving_variance)`; inference leaves the averages alone.


# %%
def batch_norm(x, gamma, beta, moving_mean, moving_variance, training, momentum, epsilon):
    # TODO: batch statistics and updated moving averages in training, the moving averages at inference
    ### BEGIN SOLUTION
    if training:
        mean, variance = x.mean(axis=0), x.var(axis=0)
        moving_mean = momentum * moving_mean + (1 - momentum) * mean
        moving_variance = momentum * moving_variance + (1 - momentum) * variance
    else:
        mean, variance = moving_mean, moving_variance
    return (x - mean) / np.sqrt(variance + epsilon) * gamma + beta, moving_mean, moving_variance
    ### END SOLUTION


checks.check_batch_norm(batch_norm)

# %% [markdown]
# The lab's `BatchNorm` layer does the same inside Keras and equals `keras.layers.BatchNormalization`:

# %%
batch = np.random.default_rng(0).normal(2.0, 3.0, size=(16, 4)).astype("float32")
ours, theirs = BatchNorm(), keras.layers.BatchNormalization()
print("training:", np.abs(ours(batch, training=True) - theirs(batch, training=True)).max())
print("inference:", np.abs(ours(batch, training=False) - theirs(batch, training=False)).max())

# %% [markdown]
# ## 1.6 Initialisation
#
# A unit sums `fan_in` inputs, so its output's variance is `fan_in Var(w) Var(x)`. Keeping it equal
# to the input's asks for `Var(w) = 1 / fan_in` forwards and `1 / fan_out` backwards: Xavier
# (Glorot) takes `Var(w) = 2 / (fan_in + fan_out)`; He (for ReLU, which zeroes half its inputs)
# takes `Var(w) = 2 / fan_in`.
#
# **Exercise:** return the two standard deviations.


# %%
def xavier_std(fan_in, fan_out):
    # TODO: sqrt(2 / (fan_in + fan_out))
    ### BEGIN SOLUTION
    return np.sqrt(2.0 / (fan_in + fan_out))
    ### END SOLUTION


def he_std(fan_in, fan_out):
    # TODO: sqrt(2 / fan_in)
    ### BEGIN SOLUTION
    return np.sqrt(2.0 / fan_in)
    ### END SOLUTION


checks.check_initialisation_std(xavier_std, he_std)

# %% [markdown]
# Through 50 tanh layers, too small a scale makes the signal vanish and N(0, 1) saturates every
# unit; Xavier keeps it alive:

# %%
series = {
    scheme: initialisation.signal_and_gradient(scheme, "tanh", depth=50, width=128, batch=256)["activation_variance"]
    for scheme in ("small", "normal", "xavier", "he")
}
figures.per_layer(series, OUT / "variance.png", "activation variance through 50 tanh layers", "variance")
display(Image(str(OUT / "variance.png")))

# %% [markdown]
# ## 1.7 All of it on Fashion-MNIST
#
# `mit_dl.foundations.train` trains a classifier with the lab's own optimizer, initialisation and
# normalisation through the shared training engine, and `mit-dl foundations optimizers|init|norm|
# regularise|gradients` runs the experiments of the docs page. One short run:

# %%
keras.utils.set_random_seed(0)
config = FoundationsConfig.from_preset(
    "quick", optimizer="adam", norm="batch", train_images=2000 if QUICK else 5000, epochs=1 if QUICK else 3
)
metrics = train.train(config, OUT / "run", export=False)
print(f"test accuracy {100 * metrics['test']['accuracy']:.1f}% from {metrics['train_images']} training images")

# %% [markdown]
# ## 1.8 Further
#
# - `mit_dl.foundations.autodiff` also has forward mode (`Dual`, Jacobian-vector products) and
#   counts the passes each mode needs for a function of n inputs and m outputs.
# - `LayerNorm` and `GroupNorm` beside `BatchNorm`; `regularisation.penalty_versus_decay` shows an
#   L2 penalty and decoupled weight decay are the same for SGD and not for Adam.
# - The docs page has every experiment over three seeds, with the commands that made them.
