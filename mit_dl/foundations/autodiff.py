"""Reverse-mode automatic differentiation on NumPy arrays: what ``tf.GradientTape`` does, in one file.

Lecture 1 trains a network by backpropagation: the loss's gradient with
respect to every weight, computed backwards through the operations of the
forward pass. Each `Tensor` remembers the tensors it was computed from and,
for each, the *vector-Jacobian product* (VJP) of its operation: given the
gradient of the loss with respect to the output, ``g = dL/dy``, the VJP
returns ``dL/dx = g J`` with ``J = dy/dx`` — without ever forming ``J``.
`Tensor.backward` visits the graph in reverse topological order, so each
node's gradient is complete (summed over every use of the node) before it is
passed on:

    dL/dx = sum over the uses u of x:  VJP_u(dL/du)

Broadcasting: an operation that broadcast an input of shape ``(3,)`` to
``(N, 3)`` sums the gradient back over the broadcast axes (`unbroadcast`).

Forward mode (`Dual`, `jvp`) pushes a tangent ``v`` through instead: one pass
gives ``J v``. For ``f: R^n -> R^m`` the full Jacobian costs ``n`` forward
passes or ``m`` reverse passes, which is why training (m = 1 loss, n = millions
of weights) uses reverse mode (`jacobian_forward`, `jacobian_reverse`).

Examples:
    >>> x = Tensor(np.array([1.0, 2.0]), name="x")
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad.tolist()
    [2.0, 4.0]
"""

import numpy as np

from mit_dl.errors import ConfigError


def unbroadcast(gradient, shape):
    """Sum ``gradient`` down to ``shape``: the adjoint of NumPy broadcasting.

    Args:
        gradient: the gradient of a broadcast result.
        shape: the shape of the input that was broadcast.

    Returns:
        An array of ``shape``.
    """
    while gradient.ndim > len(shape):
        gradient = gradient.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and gradient.shape[axis] != 1:
            gradient = gradient.sum(axis=axis, keepdims=True)
    return gradient


class Tensor:
    """A value in a computation graph, with the VJPs back to the tensors it came from.

    Args:
        value: an array (kept as float64 unless it is already a float array).
        parents: ``((tensor, vjp), ...)`` with ``vjp(g) -> gradient for tensor``; empty for a leaf.
        op: the operation's name (for the graph figure).
        name: a leaf's name (for the graph figure).
    """

    def __init__(self, value, parents=(), op="", name=""):
        value = np.asarray(value)
        self.value = value if np.issubdtype(value.dtype, np.floating) else value.astype(np.float64)
        self.parents = tuple(parents)
        self.op = op
        self.name = name
        self.grad = None

    @property
    def shape(self):
        """The value's shape."""
        return self.value.shape

    def __repr__(self):
        return f"Tensor({self.op or self.name or 'leaf'}, shape={self.shape})"

    # ------------------------------------------------------------------ backward
    def backward(self, gradient=None):
        """Accumulate ``d self / d t`` into ``t.grad`` for every tensor ``t`` this one depends on.

        Args:
            gradient: ``dL/d self`` (default 1 for a scalar).

        Raises:
            ConfigError: a non-scalar tensor without a gradient to start from.
        """
        if gradient is None:
            if self.value.size != 1:
                raise ConfigError(
                    "gradient", f"is needed for a tensor of shape {self.shape}: backward() starts from a scalar loss"
                )
            gradient = np.ones_like(self.value)
        order = topological_order(self)
        grads = {id(self): np.asarray(gradient, self.value.dtype)}
        for node in reversed(order):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            node.grad = g if node.grad is None else node.grad + g
            for parent, vjp in node.parents:
                contribution = vjp(g)
                key = id(parent)
                grads[key] = contribution if key not in grads else grads[key] + contribution  # a reused node

    # ------------------------------------------------------------------ operations
    def __add__(self, other):
        other = as_tensor(other)
        _check_broadcast("+", self, other)
        return Tensor(
            self.value + other.value,
            ((self, lambda g: unbroadcast(g, self.shape)), (other, lambda g: unbroadcast(g, other.shape))),
            "add",
        )

    __radd__ = __add__

    def __neg__(self):
        return Tensor(-self.value, ((self, lambda g: -g),), "neg")

    def __sub__(self, other):
        return self + (-as_tensor(other))

    def __rsub__(self, other):
        return as_tensor(other) + (-self)

    def __mul__(self, other):
        other = as_tensor(other)
        _check_broadcast("*", self, other)
        return Tensor(
            self.value * other.value,
            (
                (self, lambda g: unbroadcast(g * other.value, self.shape)),
                (other, lambda g: unbroadcast(g * self.value, other.shape)),
            ),
            "mul",
        )

    __rmul__ = __mul__

    def __matmul__(self, other):
        other = as_tensor(other)
        if self.value.ndim != 2 or other.value.ndim != 2 or self.shape[1] != other.shape[0]:
            raise ConfigError("matmul", f"needs [n, k] @ [k, m] matrices, received {self.shape} @ {other.shape}")
        return Tensor(
            self.value @ other.value,
            ((self, lambda g: g @ other.value.T), (other, lambda g: self.value.T @ g)),
            "matmul",
        )

    def reshape(self, *shape):
        """The same values in another shape (its VJP reshapes the gradient back).

        Args:
            *shape: the new shape (one ``-1`` allowed), as NumPy's ``reshape`` takes it.

        Returns:
            A new `Tensor`.
        """
        return Tensor(self.value.reshape(*shape), ((self, lambda g: g.reshape(self.shape)),), "reshape")

    def sum(self, axis=None, keepdims=False):
        """Sum over ``axis`` (all by default); the VJP copies the gradient back over the summed axes.

        Args:
            axis: an axis or a tuple of axes; None sums everything.
            keepdims: keep the summed axes with size 1.

        Returns:
            A new `Tensor`.
        """

        def vjp(g):
            if axis is not None and not keepdims:
                g = np.expand_dims(g, axis)
            return np.broadcast_to(g, self.shape).copy()

        return Tensor(self.value.sum(axis=axis, keepdims=keepdims), ((self, vjp),), "sum")

    def mean(self, axis=None, keepdims=False):
        """Mean over ``axis`` (all by default): the sum times ``1 / count``.

        Args:
            axis: one axis; None averages everything.
            keepdims: keep the averaged axis with size 1.

        Returns:
            A new `Tensor`.
        """
        count = self.value.size if axis is None else self.shape[axis]
        return self.sum(axis, keepdims) * (1.0 / count)

    def exp(self):
        """e to the values; its derivative is itself.

        Returns:
            A new `Tensor`.
        """
        y = np.exp(self.value)
        return Tensor(y, ((self, lambda g: g * y),), "exp")

    def log(self):
        """Natural log; d log x / dx = 1 / x.

        Returns:
            A new `Tensor`.
        """
        return Tensor(np.log(self.value), ((self, lambda g: g / self.value),), "log")

    def tanh(self):
        """tanh; d tanh x / dx = 1 - tanh^2 x.

        Returns:
            A new `Tensor`.
        """
        y = np.tanh(self.value)
        return Tensor(y, ((self, lambda g: g * (1.0 - y * y)),), "tanh")

    def sigmoid(self):
        """The logistic function; d sigma / dx = sigma (1 - sigma).

        Returns:
            A new `Tensor`.
        """
        y = 0.5 * (1.0 + np.tanh(0.5 * self.value))  # stable for large |x|
        return Tensor(y, ((self, lambda g: g * y * (1.0 - y)),), "sigmoid")

    def relu(self):
        """max(x, 0); its derivative is 1 where x > 0, else 0 (0 at x = 0, as TensorFlow has it).

        Returns:
            A new `Tensor`.
        """
        mask = self.value > 0
        return Tensor(self.value * mask, ((self, lambda g: g * mask),), "relu")


def as_tensor(value):
    """``value`` as a `Tensor` (a constant leaf when it is not one).

    Args:
        value: a `Tensor`, an array or a number.

    Returns:
        The `Tensor`.
    """
    return value if isinstance(value, Tensor) else Tensor(value, name="const")


def _check_broadcast(symbol, a, b):
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ConfigError(
            "shapes", f"{a.shape} {symbol} {b.shape} do not broadcast; make the trailing dimensions equal or 1"
        ) from None


def topological_order(root):
    """Every tensor ``root`` depends on, each after the tensors it was computed from (iteratively: deep graphs).

    Args:
        root: the output tensor.

    Returns:
        The list, ``root`` last.
    """
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((parent, False) for parent, _ in node.parents if id(parent) not in seen)
    return order


def softmax_cross_entropy(logits, labels):
    """Mean cross-entropy of integer ``labels`` under ``softmax(logits)``, with its fused VJP.

    The VJP of the mean loss with respect to the logits is ``(softmax(z) - onehot(y)) / N``: the
    famous "prediction minus target", computed without the softmax's Jacobian.

    Args:
        logits: a `Tensor` ``[N, C]``.
        labels: int array ``[N]`` of class ids.

    Returns:
        A scalar `Tensor`.
    """
    labels = np.asarray(labels)
    if logits.value.ndim != 2 or labels.shape != (logits.shape[0],):
        raise ConfigError(
            "labels", f"must be [N] class ids for logits [N, C], received {labels.shape} for {logits.shape}"
        )
    if labels.min(initial=0) < 0 or labels.max(initial=0) >= logits.shape[1]:
        raise ConfigError("labels", f"must be class ids 0..{logits.shape[1] - 1}")
    z = logits.value - logits.value.max(axis=1, keepdims=True)
    log_probabilities = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    n = len(labels)
    loss = -log_probabilities[np.arange(n), labels].mean()

    def vjp(g):
        grad = np.exp(log_probabilities)
        grad[np.arange(n), labels] -= 1.0
        return g * grad / n

    return Tensor(np.asarray(loss), ((logits, vjp),), "softmax_xent")


def im2col(images, kernel, stride=1):
    """The patches a 2-D convolution multiplies, as rows: ``[N * H' * W', k * k * C]`` (valid padding).

    Args:
        images: ``[N, H, W, C]``.
        kernel: the kernel's size ``k``.
        stride: the step between patches.

    Returns:
        ``(columns, (N, H', W'))``.
    """
    n, h, w, c = images.shape
    out_h, out_w = (h - kernel) // stride + 1, (w - kernel) // stride + 1
    rows = np.empty((n, out_h, out_w, kernel, kernel, c), images.dtype)
    for i in range(kernel):
        for j in range(kernel):
            rows[:, :, :, i, j, :] = images[:, i : i + stride * out_h : stride, j : j + stride * out_w : stride, :]
    return rows.reshape(n * out_h * out_w, kernel * kernel * c), (n, out_h, out_w)


def conv2d(images, kernel, stride=1):
    """A valid 2-D convolution (cross-correlation, as every framework computes it) through im2col.

    ``y[n, i, j, o] = sum_{a, b, c} x[n, s i + a, s j + b, c] K[a, b, c, o]``: with the patches as rows
    it is one matrix product, and its VJP is a matrix product too, scattered back into the image
    (overlapping patches add up).

    Args:
        images: a `Tensor` ``[N, H, W, C]``.
        kernel: a `Tensor` ``[k, k, C, O]``.
        stride: the step between patches.

    Returns:
        A `Tensor` ``[N, H', W', O]``.
    """
    k, _, c, o = kernel.shape
    if images.value.ndim != 4 or images.shape[3] != c or kernel.shape[0] != kernel.shape[1]:
        raise ConfigError(
            "kernel", f"must be [k, k, C, O] for images [N, H, W, C], received {kernel.shape} for {images.shape}"
        )
    columns, (n, out_h, out_w) = im2col(images.value, k, stride)
    flat_kernel = kernel.value.reshape(k * k * c, o)
    out = (columns @ flat_kernel).reshape(n, out_h, out_w, o)

    def images_vjp(g):
        patches = (g.reshape(-1, o) @ flat_kernel.T).reshape(n, out_h, out_w, k, k, c)
        grad = np.zeros_like(images.value)
        for i in range(k):
            for j in range(k):
                grad[:, i : i + stride * out_h : stride, j : j + stride * out_w : stride, :] += patches[
                    :, :, :, i, j, :
                ]
        return grad

    def kernel_vjp(g):
        return (columns.T @ g.reshape(-1, o)).reshape(kernel.shape)

    return Tensor(out, ((images, images_vjp), (kernel, kernel_vjp)), "conv2d")


class Dual:
    """Forward mode: a value and its tangent ``v``; every operation carries ``J v`` along (one pass, one column).

    Args:
        value: the primal value.
        tangent: its directional derivative (same shape).
    """

    def __init__(self, value, tangent):
        self.value = np.asarray(value, np.float64)
        self.tangent = np.asarray(tangent, np.float64)

    def __add__(self, other):
        other = other if isinstance(other, Dual) else Dual(other, np.zeros_like(np.asarray(other, np.float64)))
        return Dual(self.value + other.value, self.tangent + other.tangent)

    __radd__ = __add__

    def __mul__(self, other):
        other = other if isinstance(other, Dual) else Dual(other, np.zeros_like(np.asarray(other, np.float64)))
        return Dual(self.value * other.value, self.tangent * other.value + self.value * other.tangent)

    __rmul__ = __mul__

    def __matmul__(self, other):
        other = other if isinstance(other, Dual) else Dual(other, np.zeros_like(np.asarray(other, np.float64)))
        return Dual(self.value @ other.value, self.tangent @ other.value + self.value @ other.tangent)

    def tanh(self):
        """tanh with its tangent ``(1 - tanh^2) v``.

        Returns:
            A new `Dual`.
        """
        y = np.tanh(self.value)
        return Dual(y, (1.0 - y * y) * self.tangent)

    def sum(self):
        """The sum, and the sum of the tangent.

        Returns:
            A new `Dual`.
        """
        return Dual(self.value.sum(), self.tangent.sum())


def jacobian_forward(function, x):
    """``d function(x) / dx`` column by column: ``n`` forward passes for ``n`` inputs.

    Args:
        function: maps a `Dual` vector ``[n]`` to a `Dual` vector ``[m]`` (or a scalar).
        x: the point ``[n]``.

    Returns:
        ``(jacobian [m, n], passes)``.
    """
    x = np.asarray(x, np.float64)
    columns = [np.atleast_1d(function(Dual(x, np.eye(len(x))[i])).tangent) for i in range(len(x))]
    return np.stack(columns, axis=1), len(x)


def jacobian_reverse(function, x):
    """``d function(x) / dx`` row by row: ``m`` backward passes for ``m`` outputs.

    Args:
        function: maps a `Tensor` ``[n]`` to a `Tensor` ``[m]`` (or a scalar).
        x: the point ``[n]``.

    Returns:
        ``(jacobian [m, n], passes)``.
    """
    x = np.asarray(x, np.float64)
    m = np.atleast_1d(function(Tensor(x)).value).size
    rows = []
    for i in range(m):
        leaf = Tensor(x)
        out = function(leaf)
        seed = np.zeros(out.shape)
        seed.flat[i] = 1.0
        out.backward(seed)
        rows.append(leaf.grad)
    return np.stack(rows), m


def draw_graph(root, path, title="Computation graph"):
    """Draw the graph ``root`` was computed by: leaves on the left, each operation right of its inputs.

    Args:
        root: the output `Tensor`.
        path: the PNG file to write.
        title: the figure's title.

    Returns:
        ``path`` as a `pathlib.Path`.
    """
    from mit_dl import plots

    order = topological_order(root)
    depth = {}
    for node in order:
        depth[id(node)] = 1 + max((depth[id(p)] for p, _ in node.parents), default=-1)
    columns = {}
    for node in order:
        columns.setdefault(depth[id(node)], []).append(node)
    position = {id(n): (d, -i) for d, nodes in columns.items() for i, n in enumerate(nodes)}
    fig, ax = plots.figure(figsize=(1.8 * (max(columns) + 1), 1.2 * max(len(n) for n in columns.values()) + 1))
    for node in order:
        x, y = position[id(node)]
        for parent, _ in node.parents:
            px, py = position[id(parent)]
            ax.annotate("", (x - 0.25, y), (px + 0.25, py), arrowprops={"arrowstyle": "->", "color": "gray"})
        label = node.op or node.name or "leaf"
        ax.text(
            x,
            y,
            f"{label}\n{node.shape}",
            ha="center",
            va="center",
            fontsize=8,
            bbox={"boxstyle": "round", "facecolor": "lightyellow" if node.parents else "lightblue"},
        )
    ax.set_xlim(-0.6, max(columns) + 0.6)
    ax.set_ylim(-max(len(n) for n in columns.values()) + 0.4, 0.6)
    ax.axis("off")
    ax.set_title(title, fontsize=10)
    return plots.save(fig, path)


def mlp_parameters(sizes, seed=0):
    """Glorot-scaled weights and zero biases of an MLP, as leaf tensors.

    Args:
        sizes: ``(inputs, hidden..., classes)``.
        seed: the weights' seed.

    Returns:
        ``[W1, b1, W2, b2, ...]``.
    """
    rng = np.random.default_rng(seed)
    parameters = []
    for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        std = np.sqrt(2.0 / (fan_in + fan_out))
        parameters += [
            Tensor(rng.normal(size=(fan_in, fan_out)) * std, name=f"W{index + 1}"),
            Tensor(np.zeros(fan_out), name=f"b{index + 1}"),
        ]
    return parameters


def mlp_loss(parameters, x, labels):
    """The mean softmax cross-entropy of a tanh MLP.

    Args:
        parameters: `mlp_parameters`.
        x: ``[N, inputs]`` array.
        labels: ``[N]`` class ids.

    Returns:
        The scalar loss `Tensor` (call ``backward()`` on it).
    """
    h = Tensor(x)
    for index in range(0, len(parameters) - 2, 2):
        h = (h @ parameters[index] + parameters[index + 1]).tanh()
    return softmax_cross_entropy(h @ parameters[-2] + parameters[-1], labels)


def gradient_descent_step(parameters, x, labels, learning_rate):
    """One full gradient-descent step of `mlp_loss` with this engine.

    Args:
        parameters: `mlp_parameters` (updated in place).
        x: inputs.
        labels: class ids.
        learning_rate: the step size.

    Returns:
        The loss before the step (a float).
    """
    for parameter in parameters:
        parameter.grad = None
    loss = mlp_loss(parameters, x, labels)
    loss.backward()
    for parameter in parameters:
        parameter.value -= learning_rate * parameter.grad
    return float(loss.value)
