"""Shared A/B timing: alternate the contenders in one process, report medians."""

import datetime
import json
import os
import pathlib
import platform
import statistics
import time

# Where results go: benchmarks/results/ (the figures the docs quote), or $MIT_DL_BENCH_RESULTS
# (`python -m benchmarks --quick` writes there, so a quick run never replaces a documented one).
RESULTS = pathlib.Path(os.environ.get("MIT_DL_BENCH_RESULTS") or pathlib.Path(__file__).parent / "results")


def alternate(contenders, repeats=7, iterations=20, warmup=3, best=False):
    """Time each ``name -> callable`` in turn, ``repeats`` rounds of ``iterations`` calls.

    Contenders alternate inside every round, in A-B / B-A order, so that
    machine noise and warm caches favour none of them. Returns ``name -> median seconds per call``.
    """
    for fn in contenders.values():
        for _ in range(warmup):
            fn()
    samples = {name: [] for name in contenders}
    order = list(contenders.items())
    for round_index in range(repeats):
        # A-B then B-A: neither contender always runs first in a round.
        for name, fn in order if round_index % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            for _ in range(iterations):
                fn()
            samples[name].append((time.perf_counter() - start) / iterations)
    medians = {name: statistics.median(times) for name, times in samples.items()}
    if best:
        return medians, {name: min(times) for name, times in samples.items()}
    return medians


def encoder_multiply_adds(encoder):
    """Multiply-adds of one image through a Sequential of Conv2D / Dense layers (others are cheap)."""
    import keras

    total = 0
    for layer in encoder.layers:
        if isinstance(layer, keras.layers.Conv2D):
            _, height, width, filters = layer.output.shape
            kernel_height, kernel_width, channels_in, _ = layer.kernel.shape
            total += height * width * filters * kernel_height * kernel_width * channels_in
        elif isinstance(layer, keras.layers.Dense):
            total += layer.kernel.shape[0] * layer.kernel.shape[1]
    return total


def matmul_flops_per_second(size=4096, repeats=5):
    """Best float32 rate of a compiled ``size``-square matrix product: this machine's practical peak."""
    import tensorflow as tf

    a = tf.random.stateless_normal([size, size], seed=[0, 1])
    b = tf.random.stateless_normal([size, size], seed=[0, 2])
    product = tf.function(lambda: tf.reduce_sum(tf.linalg.matmul(a, b)))
    _, fastest = alternate({"matmul": lambda: product().numpy()}, repeats=repeats, iterations=1, warmup=1, best=True)
    return 2 * size**3 / fastest["matmul"]


def machine():
    """This machine and the versions a result depends on.

    Returns:
        ``{"cpu", "avx512", "python", "tensorflow", "keras", "date"}``.
    """
    import keras
    import tensorflow as tf

    cpuinfo = pathlib.Path("/proc/cpuinfo")
    return {
        "cpu": f"{platform.machine()} {os.cpu_count()} cores",
        "avx512": "avx512f" in cpuinfo.read_text() if cpuinfo.exists() else None,
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "date": datetime.date.today().isoformat(),
    }


def write_results(name, payload):
    """Write ``benchmarks/results/<name>.json`` with the machine, versions and date added."""
    found = machine()
    payload = {
        **payload,
        "machine": f"{found['cpu']}, Python {found['python']}",
        "tensorflow": found["tensorflow"],
        "keras": found["keras"],
        "date": found["date"],
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"written {path}")
    return path


def ratio_row(comparison, ours, baseline, unit, higher_is_better):
    """One row of the benchmark table: ours beside the baseline, and how many times better ours is.

    Args:
        comparison: what is compared (``"sampling, one song"``).
        ours: ``(label, value)`` of our implementation.
        baseline: ``(label, value)`` of what it is compared with.
        unit: the values' unit (``"chars/s"``, ``"s"``).
        higher_is_better: True for rates, False for times.

    Returns:
        ``{"comparison", "ours", "ours_value", "baseline", "baseline_value", "unit", "ratio"}``; ``ratio``
        above 1 means ours is better.
    """
    (ours_label, ours_value), (baseline_label, baseline_value) = ours, baseline
    ratio = ours_value / baseline_value if higher_is_better else baseline_value / ours_value
    return {
        "comparison": comparison,
        "ours": ours_label,
        "ours_value": ours_value,
        "baseline": baseline_label,
        "baseline_value": baseline_value,
        "unit": unit,
        "ratio": ratio,
    }
