# %% [markdown]
# # Lab 1, part 1: Intro to TensorFlow and Keras
#
# MIT 6.S191 Introduction to Deep Learning, with the `mit_dl` companion package.
# This notebook runs anywhere Python runs (Jupyter, VS Code, Colab), on a CPU or a GPU, offline.
#
# **How it works.** Cells marked `# TODO` are yours: replace the `raise NotImplementedError(...)`
# line with your code and run the cell. After each exercise a checker from `mit_dl.labs.music` runs
# your code on fixed inputs and either says `[PASSED]` or tells you what it expected, what it got and
# the likely mistake. `mit-dl labs check part1_intro_exercise.ipynb` runs the whole notebook and
# lists every checker's verdict.
#
# You will meet: tensors, computations as graphs, a dense layer written from scratch, Keras models,
# automatic differentiation with `tf.GradientTape`, and graph compilation with `tf.function`.

# %%
from mit_dl.environment import quiet_tensorflow_startup

quiet_tensorflow_startup()  # TensorFlow without its C++ start-up lines (errors still show)

import time

import keras
import matplotlib.pyplot as plt
import tensorflow as tf

from mit_dl import labs
from mit_dl.labs import music as checks

QUICK = labs.quick_mode()  # True: settings that finish in minutes on a laptop CPU
print(
    "TensorFlow",
    tf.__version__,
    "| Keras",
    keras.__version__,
    "| devices:",
    [d.device_type for d in tf.config.list_logical_devices()],
)

# %% [markdown]
# ## 1.1 Tensors
#
# A tensor is an n-dimensional array: its **rank** is the number of dimensions, its **shape** the
# size of each. A scalar has rank 0, a vector rank 1, a matrix rank 2; a batch of colour images is
# rank 4, `[batch, height, width, channels]`.

# %%
sport = tf.constant("Tennis", tf.string)
number = tf.constant(1.41421356237, tf.float64)
print(f"`sport` is a {tf.rank(sport).numpy()}-d tensor, `number` is a {tf.rank(number).numpy()}-d tensor")

sports = tf.constant(["Tennis", "Basketball"], tf.string)
numbers = tf.constant([3.141592, 1.414213, 2.718281], tf.float64)
print(f"`sports` has shape {sports.shape}, `numbers` has shape {numbers.shape}")

# %% [markdown]
# **Exercise.** Return `matrix`, any rank-2 tensor, and `images`, a rank-4 tensor of zeros for
# 10 images of 256 x 256 pixels with 3 colour channels (`tf.zeros`).


# %%
def make_tensors():
    # TODO: create `matrix` (rank 2) and `images` (zeros, 10 images of 256x256 RGB)
    ### BEGIN SOLUTION
    matrix = tf.constant([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    images = tf.zeros([10, 256, 256, 3])
    ### END SOLUTION
    return matrix, images


checks.check_tensors(make_tensors)

# %% [markdown]
# Slicing works as in NumPy: `matrix[1]` is a row, `matrix[:, 1]` a column.

# %%
matrix = tf.constant([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
print("row 1:", matrix[1].numpy(), "| column 1:", matrix[:, 1].numpy(), "| element (1, 2):", matrix[1, 2].numpy())

# %% [markdown]
# ## 1.2 Computations on tensors
#
# TensorFlow sees a computation as a graph of operations. The lab's example graph takes inputs
# `a` and `b` and computes
#
# $$c = a + b, \qquad d = b - 1, \qquad e = c \times d.$$
#
# **Exercise.** Write it with `tf.add`, `tf.subtract` and `tf.multiply`.


# %%
def func(a, b):
    # TODO: compute c = a + b, d = b - 1 and e = c * d, and return e
    ### BEGIN SOLUTION
    c = tf.add(a, b)
    d = tf.subtract(b, 1)
    e = tf.multiply(c, d)
    ### END SOLUTION
    return e


checks.check_computation_graph(func)

# %%
print("func(1.5, 2.5) =", func(tf.constant(1.5), tf.constant(2.5)).numpy())

# %% [markdown]
# ## 1.3 A neural network layer from scratch
#
# A dense layer (lecture 1, the perceptron) computes
#
# $$y = g(xW + b)$$
#
# for a row of inputs $x$, weights $W$ of shape `(input_dim, units)`, a bias $b$ and a
# non-linearity $g$, here the sigmoid. A Keras layer creates its weights in `build` (when it first
# sees an input, so it knows `input_dim`) and computes in `call`.
#
# **Exercise.** Create `W` and `b` with `self.add_weight(shape=..., initializer=..., name=...)`
# and compute the output.


# %%
class OurDenseLayer(keras.layers.Layer):
    def __init__(self, n_output_nodes, **kwargs):
        super().__init__(**kwargs)
        self.n_output_nodes = n_output_nodes

    def build(self, input_shape):
        d = int(input_shape[-1])
        # TODO: create self.W of shape (d, n_output_nodes) and self.b of shape (1, n_output_nodes)
        ### BEGIN SOLUTION
        self.W = self.add_weight(shape=(d, self.n_output_nodes), initializer="glorot_uniform", name="W")
        self.b = self.add_weight(shape=(1, self.n_output_nodes), initializer="zeros", name="b")
        ### END SOLUTION

    def call(self, x):
        # TODO: compute z = x W + b and return y = sigmoid(z)
        ### BEGIN SOLUTION
        z = tf.matmul(x, self.W) + self.b
        y = tf.sigmoid(z)
        ### END SOLUTION
        return y


checks.check_dense_layer(OurDenseLayer)

# %% [markdown]
# `mit_dl.layers.MyDenseLayer` is the same layer done as a library layer (argument checks,
# serialisation, mixed precision). With the same weights both give the same numbers:

# %%
from mit_dl.layers import MyDenseLayer

x_input = tf.constant([[1.0, 2.0]])
ours = OurDenseLayer(3)
ours.build(x_input.shape)
library = MyDenseLayer(3, activation="sigmoid")
library.build(x_input.shape)
library.set_weights([ours.W.numpy(), ours.b.numpy().reshape(-1)])
print("our layer:    ", ours(x_input).numpy())
print("MyDenseLayer: ", library(x_input).numpy())

# %% [markdown]
# ## 1.4 Models: `Sequential` and subclassing
#
# Keras stacks layers with `keras.Sequential`; for control flow in the forward pass, subclass
# `keras.Model`. **Exercise:** a model with one sigmoid `Dense` layer whose `call` takes an extra
# argument `isidentity`: when it is `True` the model returns its inputs unchanged.

# %%
n_output_nodes = 3
sequential = keras.Sequential([keras.Input((2,)), keras.layers.Dense(n_output_nodes, activation="sigmoid")])
print("Sequential output:", sequential(x_input).numpy())


class IdentityModel(keras.Model):
    def __init__(self, n_output_nodes, **kwargs):
        super().__init__(**kwargs)
        self.dense_layer = keras.layers.Dense(n_output_nodes, activation="sigmoid")

    def call(self, inputs, isidentity=False):
        # TODO: return the inputs when isidentity is True, else the dense layer's output
        ### BEGIN SOLUTION
        if isidentity:
            return inputs
        return self.dense_layer(inputs)
        ### END SOLUTION


checks.check_identity_model(IdentityModel)

# %% [markdown]
# ## 1.5 Automatic differentiation with `tf.GradientTape`
#
# Training needs derivatives of the loss with respect to every weight. `tf.GradientTape` records
# the operations run inside its `with` block and replays them backwards (back-propagation,
# lecture 1). **Exercise:** return $dy/dx$ for $y = x^2$.


# %%
def derivative_of_square(x_value):
    x = tf.Variable(x_value)
    # TODO: record y = x * x on a tf.GradientTape and return the gradient dy/dx
    ### BEGIN SOLUTION
    with tf.GradientTape() as tape:
        y = x * x
    return tape.gradient(y, x)
    ### END SOLUTION


checks.check_derivative(derivative_of_square)

# %% [markdown]
# Gradient descent uses that derivative to minimise a loss. **Exercise:** one step of stochastic
# gradient descent on $L(x) = (x - x_f)^2$: compute the loss on a tape, its gradient, and update
# the variable in place, $x \leftarrow x - \eta \, dL/dx$ (`x.assign_sub`). Return the loss.


# %%
def sgd_step(x, target, learning_rate):
    # TODO: compute loss = (x - target)**2 on a tape, then x.assign_sub(learning_rate * gradient); return loss
    ### BEGIN SOLUTION
    with tf.GradientTape() as tape:
        loss = (x - target) ** 2
    x.assign_sub(learning_rate * tape.gradient(loss, x))
    ### END SOLUTION
    return loss


checks.check_sgd_step(sgd_step)

# %%
x = tf.Variable(tf.random.normal([], seed=1))
x_f = 4.0
history = [x.numpy()]
for _ in range(500):
    sgd_step(x, x_f, 1e-2)
    history.append(x.numpy())

plt.plot(history, label="x")
plt.axhline(x_f, color="r", linestyle="--", label="x_f")
plt.xlabel("iteration")
plt.legend()
plt.show()
print(f"x after 500 steps: {x.numpy():.4f} (target {x_f})")

# %% [markdown]
# ## 1.6 Graphs: `tf.function`
#
# By default TensorFlow runs eagerly: each operation as Python reaches it. `tf.function` traces a
# Python function once into a graph that TensorFlow optimises and runs without the Python
# interpreter in the loop: the way `mit_dl`'s training engine runs every step.
# **Exercise:** return the compiled version of a function.


# %%
def compile_function(fn):
    # TODO: return fn compiled into a TensorFlow graph with tf.function
    ### BEGIN SOLUTION
    return tf.function(fn)
    ### END SOLUTION


checks.check_tf_function(compile_function)

# %% [markdown]
# How much does it help? Many small operations gain the most: here 20 dense layers of 64 units on a
# small batch.

# %%
layers = [OurDenseLayer(64) for _ in range(20)]


def deep_forward(x):
    for layer in layers:
        x = layer(x)
    return x


batch = tf.random.normal([8, 64], seed=2)
compiled_forward = compile_function(deep_forward)
compiled_forward(batch)  # the first call traces the graph
repeats = 50 if QUICK else 500
timings = {}
for name, fn in (("eager", deep_forward), ("tf.function", compiled_forward)):
    start = time.perf_counter()
    for _ in range(repeats):
        fn(batch)
    timings[name] = (time.perf_counter() - start) / repeats * 1e3
print(
    f"eager {timings['eager']:.2f} ms, tf.function {timings['tf.function']:.2f} ms per call: "
    f"{timings['eager'] / timings['tf.function']:.1f}x faster"
)

# %% [markdown]
# That is the whole toolbox of the course: tensors, layers, models, gradients and graphs. Part 2
# uses all of it to train a recurrent network that writes Irish folk music.
