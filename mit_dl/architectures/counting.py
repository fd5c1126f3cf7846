"""Parameters and multiply-adds of a network, counted from the operations TensorFlow runs.

`multiply_adds` traces the model on one image and adds up, over every
convolution and matrix product of the traced graph, the products it
computes: a convolution with a ``k_h x k_w`` kernel from ``C_in`` to
``C_out`` channels onto an ``H_out x W_out`` output costs

    MACs = H_out * W_out * C_out * k_h * k_w * C_in      (divided by the groups)

and a product of ``M x K`` by ``K x N`` matrices ``M * N * K``. Additions of
biases, normalisations, activations and pooling are not counted (the usual
convention of the papers' "multiply-adds"; they are a few percent). Because
the count reads the graph, attention's ``Q K^T`` and ``A V`` products are in
it too, which a count from the layers' weights would miss.

Examples:
    >>> import keras
    >>> model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, padding="same")])
    >>> multiply_adds(model)  # 8 * 8 outputs * 4 channels * 3 * 3 * 3
    6912
"""

import numpy as np
import tensorflow as tf

# Graph operations that multiply and add, and how to count them.
COUNTED = ("Conv2D", "DepthwiseConv2dNative", "MatMul", "BatchMatMulV2", "BatchMatMulV3", "Einsum")


def parameter_counts(model):
    """The model's trainable and non-trainable parameter counts.

    Args:
        model: a built Keras model.

    Returns:
        ``{"trainable": int, "non_trainable": int, "total": int}`` (BatchNorm's moving mean and
        variance are non-trainable).
    """
    trainable = int(sum(np.prod(v.shape) for v in model.trainable_weights))
    frozen = int(sum(np.prod(v.shape) for v in model.non_trainable_weights))
    return {"trainable": trainable, "non_trainable": frozen, "total": trainable + frozen}


def multiply_adds(model, input_shape=None):
    """The multiply-adds of one forward pass of one example (see the module docstring).

    Args:
        model: a Keras model (or layer) taking one batch of inputs.
        input_shape: one example's shape (default: the model's input shape without the batch).

    Returns:
        An int.
    """
    shape = tuple(input_shape or model.input_shape[1:])
    function = tf.function(lambda x: model(x, training=False))
    graph = function.get_concrete_function(tf.TensorSpec((1, *shape), tf.float32)).graph
    return int(sum(_operation_macs(op) for op in _all_operations(graph)))


def _all_operations(graph):
    """Every operation of a graph and of the functions it calls (a nested tf.function, a while loop's body)."""
    yield from graph.get_operations()
    for function in graph._functions.values():  # noqa: SLF001 - the library functions a traced graph calls
        yield from _all_operations(function.graph) if hasattr(function, "graph") else ()


def _operation_macs(op):
    """The multiply-adds of one graph operation (0 for one that is not a product)."""
    if op.type not in COUNTED:
        return 0
    out = op.outputs[0].shape
    if not out.is_fully_defined():
        raise ValueError(f"cannot count {op.type} {op.name}: its output shape {out} is not fully known")
    if op.type in ("Conv2D", "DepthwiseConv2dNative"):
        kernel = op.inputs[1].shape
        return int(np.prod(out)) * kernel[0] * kernel[1] * (kernel[2] if op.type == "Conv2D" else 1)
    if op.type == "MatMul":
        a = op.inputs[0].shape
        return int(np.prod(out)) * (a[0] if op.get_attr("transpose_a") else a[1])
    if op.type.startswith("BatchMatMul"):
        a = op.inputs[0].shape
        return int(np.prod(out)) * (a[-2] if op.get_attr("adj_x") else a[-1])
    return _einsum_macs(op)


def _einsum_macs(op):
    """An einsum's multiply-adds: the product of the sizes of every index it names (two operands)."""
    equation = op.get_attr("equation").decode()
    inputs = equation.split("->")[0].split(",")
    sizes = {}
    for letters, tensor in zip(inputs, op.inputs):
        for letter, size in zip(letters, tensor.shape):
            sizes[letter] = size
    return int(np.prod(list(sizes.values())))
