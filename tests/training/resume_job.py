"""A training job for the kill-and-resume test (run as a script).

usage: python resume_job.py CHECKPOINT_DIR LOG_FILE WEIGHTS_FILE SLEEP_SECONDS [skip-data]

With ``skip-data`` the data iterator is not checkpointed
(``Trainer(checkpoint_data=False)``): the resumed run skips the consumed
batches instead.

Trains a small model with dropout on a shuffled dataset for 3 epochs of 12
steps, checkpointing after every step. Each step appends "step loss" to
LOG_FILE before its checkpoint is written, so a kill between the two shows up
as a repeated step with the same loss. The final weights go to WEIGHTS_FILE.
"""

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from mit_dl.training import Callback, Trainer, enable_determinism  # noqa: E402


class StepLog(Callback):
    def __init__(self, path, sleep):
        self.path, self.sleep = path, sleep

    def on_step_end(self, trainer, step, logs):
        with open(self.path, "a") as f:
            f.write(f"{step} {logs['loss']:.9f}\n")
        time.sleep(self.sleep)


def main(checkpoint_dir, log_file, weights_file, sleep=0.0, checkpoint_data=True):
    enable_determinism(7)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(384, 10)).astype("float32")
    y = (x[:, :5].sum(1) > 0).astype("int32")
    data = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(384, seed=3).batch(32)
    model = keras.Sequential(
        [
            keras.Input((10,)),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(2),
        ]
    )
    trainer = Trainer(
        model,
        keras.optimizers.Adam(1e-2),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        checkpoint_dir=checkpoint_dir,
        checkpoint_every=1,
        verbose=False,
        checkpoint_data=checkpoint_data,
    )
    trainer.fit(data, epochs=3, callbacks=[StepLog(log_file, sleep)])
    np.savez(weights_file, *model.get_weights())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), checkpoint_data=sys.argv[5:] != ["skip-data"])
