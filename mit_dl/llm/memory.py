"""Memory and communication of training a GPT on many devices, from the lecture's formulas.

CSC413 §16 (large models): what one device holds while training with Adam,
and what it sends per step, under

- data parallelism (DP): every device holds the whole model, its gradients
  and Adam's state, and reads ``batch / devices`` examples; the gradients
  are all-reduced, ``2 P (D - 1) / D`` numbers sent per device;
- ZeRO stages 1-3 (Rajbhandari et al. 2020; stage 3 is PyTorch's FSDP):
  Adam's state (1), then the gradients (2), then the weights (3) are split
  in ``D`` parts; stage 3 gathers the weights for the forward and the
  backward pass, ``3 P (D - 1) / D`` numbers;
- tensor parallelism (Megatron-LM, Shoeybi et al. 2019): every matrix of a
  block is split in ``D`` slices, two all-reduces of the activations per
  block in the forward pass and two in the backward.

Adam keeps two float32 numbers per weight, and a float32 master copy of
each weight when the weights are 16-bit (ZeRO's ``K = 12`` bytes).
Activations follow Korthikanti et al. 2022 (no recomputation): per block
``s b h (34 + 5 a s / h)`` bytes at 16 bits, for ``s`` tokens, ``b``
sequences, width ``h`` and ``a`` heads (twice that in float32); tensor
parallelism splits all but ``10 s b h`` of it.

`measure_step` checks the formulas on a real compiled training step: the
bytes of the weights and of AdamW's state TensorFlow allocated, and, on a
GPU, the step's peak memory (TensorFlow reports a device's peak on GPUs
only).

Examples:
    >>> from mit_dl.llm.config import GPTConfig
    >>> config = GPTConfig.from_preset("quick")
    >>> parameter_count(config, vocab_size=1024)
    940800
"""

import numpy as np

STRATEGIES = ("data parallel", "ZeRO-1", "ZeRO-2", "ZeRO-3 / FSDP", "tensor parallel")


def parameter_count(config, vocab_size):
    """The GPT's weights: tied embeddings, positions, the blocks and the final norm.

    Args:
        config: a `GPTConfig` (``d_model``, ``ff_dim``, ``num_layers``, ``context``).
        vocab_size: the tokenizer's vocabulary.

    Returns:
        An int, equal to the built model's ``count_params()``.
    """
    d, f = config.d_model, config.ff_dim
    attention = 4 * d * d + 4 * d  # W_Q, W_K, W_V, W^O with biases
    feed_forward = d * f + f + f * d + d
    norms = 2 * 2 * d
    return vocab_size * d + config.context * d + config.num_layers * (attention + feed_forward + norms) + 2 * d


def activation_bytes(config, sequences, bytes_per_number=4, tensor_slices=1):
    """Activations a training step keeps for the backward pass (Korthikanti et al. 2022's count).

    Args:
        config: a `GPTConfig`.
        sequences: sequences of ``context`` tokens on the device.
        bytes_per_number: 2 (16-bit) or 4 (float32).
        tensor_slices: tensor-parallel degree (1: none).

    Returns:
        Bytes.
    """
    s, h, a = config.context, config.d_model, config.num_heads
    per_block = s * sequences * h * (10 + (24 + 5 * a * s / h) / tensor_slices)
    return config.num_layers * per_block * bytes_per_number / 2


def per_device(config, vocab_size, devices, bytes_per_number=4, batch_size=None):
    """Bytes per device of weights, gradients, Adam's state and activations, and bytes sent per step.

    Args:
        config: a `GPTConfig`.
        vocab_size: the tokenizer's vocabulary.
        devices: the number of devices ``D``.
        bytes_per_number: bytes of a weight, gradient and activation.
        batch_size: sequences per step over all devices (default: the config's).

    Returns:
        ``{strategy: {"weights", "gradients", "optimizer", "activations", "total", "sent"}}`` in bytes.
    """
    p, d = parameter_count(config, vocab_size), devices
    b = bytes_per_number
    adam = 8 if b == 4 else 12
    batch = batch_size or config.batch_size
    share = (d - 1) / d
    full_activations = activation_bytes(config, batch / d, b)
    table = {
        "data parallel": (p * b, p * b, p * adam, full_activations, 2 * p * b * share),
        "ZeRO-1": (p * b, p * b, p * adam / d, full_activations, 2 * p * b * share),
        "ZeRO-2": (p * b, p * b / d, p * adam / d, full_activations, 2 * p * b * share),
        "ZeRO-3 / FSDP": (p * b / d, p * b / d, p * adam / d, full_activations, 3 * p * b * share),
        "tensor parallel": (
            p * b / d,
            p * b / d,
            p * adam / d,
            activation_bytes(config, batch, b, tensor_slices=d),
            4 * config.num_layers * 2 * config.context * batch * config.d_model * b * share,
        ),
    }
    return {
        name: {
            "weights": w,
            "gradients": g,
            "optimizer": o,
            "activations": act,
            "total": w + g + o + act,
            "sent": sent,
        }
        for name, (w, g, o, act, sent) in table.items()
    }


def memory_table(config, devices, bytes_per_number=4, vocab_size=None):
    """`per_device` as a Markdown table in MiB.

    Args:
        config: a `GPTConfig`.
        devices: devices ``D``.
        bytes_per_number: bytes of a weight, gradient and activation.
        vocab_size: the vocabulary (default: the config's).

    Returns:
        The table's text, with the parameter count above it.
    """
    vocab = vocab_size or config.vocab_size
    rows = per_device(config, vocab, devices, bytes_per_number)
    mib = 2**20
    lines = [
        f"{parameter_count(config, vocab):,} parameters, batch {config.batch_size} x {config.context} tokens, "
        f"{devices} devices, {bytes_per_number} bytes per number (MiB per device)",
        "",
        "| strategy | weights | gradients | Adam | activations | total | sent per step |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        values = " | ".join(f"{row[k] / mib:.1f}" for k in ("weights", "gradients", "optimizer", "activations"))
        lines.append(f"| {name} | {values} | {row['total'] / mib:.1f} | {row['sent'] / mib:.1f} |")
    return "\n".join(lines)


def measure_step(config, vocab_size, batch_size=None, device=None):
    """Run one AdamW training step of the config's GPT and measure what it allocated.

    Args:
        config: a `GPTConfig`.
        vocab_size: the vocabulary.
        batch_size: sequences in the step (default: the config's).
        device: a TensorFlow device name (default: the first GPU if any, else the CPU).

    Returns:
        ``{"device", "weights", "optimizer", "peak"}`` in bytes: the trainable weights, AdamW's
        moments (its tensors of the weights' shapes) and the device's peak during the step
        (``None`` off a GPU).
    """
    import tensorflow as tf

    from mit_dl.llm.model import build_gpt, compile_gpt

    gpus = tf.config.list_logical_devices("GPU")
    device = device or (gpus[0].name if gpus else "/CPU:0")
    on_gpu = "GPU" in device.upper()
    batch = batch_size or config.batch_size
    tokens = np.random.default_rng(0).integers(0, vocab_size, (batch, config.context + 1)).astype("int32")
    with tf.device(device):
        model = build_gpt(config, vocab_size)
        compile_gpt(model, config.learning_rate, 10, 1)
        if on_gpu:
            tf.config.experimental.reset_memory_stats(device.split("device:")[-1])
        model.train_on_batch(tokens[:, :-1], tokens[:, 1:])
        peak = tf.config.experimental.get_memory_info(device.split("device:")[-1])["peak"] if on_gpu else None

    def size(variables):
        return sum(int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize for v in variables if len(v.shape))

    return {
        "device": device,
        "weights": size(model.trainable_weights),
        "optimizer": size(model.optimizer.variables),
        "peak": peak,
    }


def measured_lines(config, vocab_size, bytes_per_number=4):
    """`measure_step` beside the data-parallel formulas on one device, as lines to print.

    Args:
        config: a `GPTConfig`.
        vocab_size: the vocabulary.
        bytes_per_number: the formulas' bytes per number (4: float32, as the step runs).

    Returns:
        A list of strings.
    """
    measured = measure_step(config, vocab_size)
    formula = per_device(config, vocab_size, 1, bytes_per_number)["data parallel"]
    mib = 2**20
    lines = [
        f"measured on {measured['device']}, one step of {config.batch_size} x {config.context} tokens:",
        f"  weights {measured['weights'] / mib:.2f} MiB (formula {formula['weights'] / mib:.2f})",
        f"  AdamW's moments {measured['optimizer'] / mib:.2f} MiB (formula {formula['optimizer'] / mib:.2f})",
    ]
    if measured["peak"] is None:
        lines.append("  peak: TensorFlow reports a device's peak memory on GPUs only; run this on a GPU to see it")
    else:
        lines.append(
            f"  peak {measured['peak'] / mib:.1f} MiB (formula: weights, gradients, Adam and activations "
            f"{formula['total'] / mib:.1f})"
        )
    return lines
