"""Jobs for the tf.distribute tests (run as scripts, each in a fresh process).

python distributed_job.py mirrored OUT.json
    Configures 2 logical CPUs, trains the same model from the same weights
    on the same data once on one device and once under MirroredStrategy
    (same global batch), and writes both loss curves.
python distributed_job.py mirrored_checkpointed OUT.npz STEPS CHECKPOINT_DIR
    Trains under MirroredStrategy (2 logical CPUs) with dropout and a
    shuffled dataset up to STEPS total, checkpointing into
    CHECKPOINT_DIR (resuming from it when it holds a checkpoint), and
    writes the final weights.
python distributed_job.py lab_mirrored OUT.json DATA_DIR RUNS_DIR
    Configures 2 logical CPUs and trains the images lab's dense network
    (one epoch on 2,000 real MNIST digits) through its workflow twice: with
    ``distribute="none"`` and ``distribute="mirrored"``; writes both
    histories and the replica count.
python distributed_job.py worker OUT.npz
    One worker of a MultiWorkerMirroredStrategy (TF_CONFIG set by the
    caller); writes its final weights and loss curve.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

GLOBAL_BATCH = 32
STEPS = 24


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(GLOBAL_BATCH * 8, 6)).astype("float32")
    y = (x @ rng.normal(size=(6,)) > 0).astype("int32")
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options)


def train(strategy=None, steps=STEPS, checkpoint_dir=None, dropout=0.0, shuffle=False):
    import keras

    from mit_dl.training import Trainer

    scope = strategy.scope() if strategy else tf.distribute.get_strategy().scope()
    with scope:
        model = keras.Sequential(
            [
                keras.Input((6,)),
                keras.layers.Dense(16, activation="tanh"),
                keras.layers.Dropout(dropout),
                keras.layers.Dense(2),
            ]
        )
        init = np.random.default_rng(1)
        model.set_weights([init.normal(scale=0.5, size=w.shape).astype("float32") for w in model.get_weights()])
        optimizer = keras.optimizers.SGD(0.1)
    trainer = Trainer(
        model,
        optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        strategy=strategy,
        verbose=False,
        checkpoint_dir=checkpoint_dir,
        checkpoint_every=2 if checkpoint_dir else None,
    )
    dataset = data().unbatch().shuffle(256, seed=5).batch(GLOBAL_BATCH) if shuffle else data()
    history = trainer.fit(dataset, steps=steps, steps_per_epoch=8 if shuffle else 4)
    return model, history["loss"]


def mirrored(out):
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    _, single = train()
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    _, mirrored_losses = train(strategy)
    with open(out, "w") as f:
        json.dump({"single": single, "mirrored": mirrored_losses, "replicas": strategy.num_replicas_in_sync}, f)


def lab_mirrored(out, data_dir, runs_dir):
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from mit_dl.images import ImagesConfig
    from mit_dl.images import train as images_train
    from mit_dl.training.distribute import make_strategy

    config = ImagesConfig(dataset="mnist", model="dense", split_test=2000, epochs=2, data=data_dir)
    histories = {}
    for distribute in ("none", "mirrored"):
        run = images_train.train(
            config.replace(distribute=distribute), f"{runs_dir}/{distribute}", export=False, log=lambda _: None
        )
        histories[distribute] = run["history"]
    replicas = make_strategy("mirrored").num_replicas_in_sync
    with open(out, "w") as f:
        json.dump({**histories, "replicas": replicas}, f)


def mirrored_checkpointed(out, steps, checkpoint_dir):
    from mit_dl.training import enable_determinism

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    enable_determinism(11)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    model, _ = train(strategy, steps=int(steps), checkpoint_dir=checkpoint_dir, dropout=0.3, shuffle=True)
    np.savez(out, *model.get_weights())


def worker(out):
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    model, losses = train(strategy)
    np.savez(out, *model.get_weights(), losses=np.array(losses), replicas=strategy.num_replicas_in_sync)


if __name__ == "__main__":
    modes = {
        "mirrored": mirrored,
        "mirrored_checkpointed": mirrored_checkpointed,
        "worker": worker,
        "lab_mirrored": lab_mirrored,
    }
    modes[sys.argv[1]](*sys.argv[2:])
