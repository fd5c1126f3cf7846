"""Callbacks for `Trainer.fit`: early stopping and the NaN/Inf guard.

A callback sees the trainer and the metric dictionaries; setting
``trainer.stop_training = True`` ends ``fit``: set in ``on_epoch_end``, after that epoch; set in
``on_step_end``, at that step (the partial epoch is recorded and checkpointed).
"""

import math

from mit_dl.errors import MitDLError


class TrainingDiverged(MitDLError, RuntimeError):
    """The loss became NaN or Inf; the last good checkpoint is kept."""


class Callback:
    """The hooks a Trainer callback may implement; each default does nothing.

    ``on_train_begin(trainer)``, ``on_step_end(trainer, step, logs)``,
    ``on_epoch_end(trainer, epoch, logs)`` and ``on_train_end(trainer)`` are
    called by `Trainer.fit`; ``trainer.stop_training = True`` ends training (at that step
    when set in ``on_step_end``, its partial epoch recorded and checkpointed).
    """

    def on_train_begin(self, trainer):
        pass

    def steps_until_event(self, step):
        """Steps from ``step`` to this callback's next scheduled action.

        The trainer ends a multi-step compiled call there, so ``on_step_end``
        sees that exact step whatever ``steps_per_execution`` groups.

        Args:
            step: the current step.

        Returns:
            A number of steps, or ``None`` when nothing is scheduled.
        """
        return None

    def on_step_end(self, trainer, step, logs):
        pass

    def on_epoch_end(self, trainer, epoch, logs):
        pass

    def on_train_end(self, trainer):
        pass


class NaNGuard(Callback):
    """Stop with a clear error at the first step whose losses are not finite.

    The step's update is already applied, so the model weights are poisoned;
    the trainer does not checkpoint that step, and the error says which
    checkpoint to restore (``Trainer.restore()`` does it).
    """

    def on_step_end(self, trainer, step, logs):
        bad = {k: v for k, v in logs.items() if not math.isfinite(v)}
        if bad:
            last = trainer.latest_checkpoint()
            where = f"the last good checkpoint is {last}" if last else "no checkpoint was written yet"
            raise TrainingDiverged(
                f"training diverged at step {step}: {', '.join(f'{k}={v}' for k, v in bad.items())}; "
                f"{where}. Lower the learning rate or check the data."
            )


class EarlyStopping(Callback):
    """Stop when a validation metric stops improving; restore the best weights.

    Args:
        monitor: key in the epoch logs, e.g. ``"val_loss"`` or ``"val_accuracy"``.
        mode: ``"min"`` or ``"max"``; default ``"max"`` for names containing
            "acc", else ``"min"``.
        patience: epochs without improvement before stopping.
        min_delta: smallest change that counts as an improvement.
        restore_best_weights: put the best epoch's weights back at the end.
    """

    def __init__(self, monitor="val_loss", mode=None, patience=2, min_delta=0.0, restore_best_weights=True):
        if mode not in (None, "min", "max"):
            raise ValueError(f"EarlyStopping: `mode` must be 'min' or 'max', received {mode!r}.")
        self.monitor = monitor
        self.mode = mode or ("max" if "acc" in monitor else "min")
        self.patience = int(patience)
        self.min_delta = float(min_delta)
        self.restore_best_weights = restore_best_weights
        self.best = None
        self.best_epoch = None
        self.best_weights = None
        self.wait = 0

    def _improved(self, value):
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, trainer, epoch, logs):
        if self.monitor not in logs:
            raise ValueError(
                f"EarlyStopping monitors {self.monitor!r} but the epoch logs have {sorted(logs)}; "
                "pass validation_data to fit or monitor another metric."
            )
        value = logs[self.monitor]
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = trainer.model.get_weights()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                trainer.stop_training = True

    def on_train_end(self, trainer):
        if self.restore_best_weights and self.best_weights is not None:
            trainer.model.set_weights(self.best_weights)


class ImageSummaries(Callback):
    """Write a picture to TensorBoard at the end of every epoch (e.g. a generator's samples from fixed noise).

    Args:
        make_images: ``() -> [N, H, W, C]`` floats in [0, 1] (or uint8), tiled into one picture.
        log_dir: the TensorBoard folder (the Trainer's ``log_dir``).
        name: the picture's tag.
        columns: images per row of the tiled picture.
    """

    def __init__(self, make_images, log_dir, name="samples", columns=8):
        self.make_images = make_images
        self.log_dir = log_dir
        self.name = name
        self.columns = columns
        self._writer = None

    def on_epoch_end(self, trainer, epoch, logs):
        import numpy as np
        import tensorflow as tf

        from mit_dl.plots import tile

        images = np.asarray(self.make_images())
        if images.dtype != np.uint8:
            images = np.round(np.clip(images, 0.0, 1.0) * 255).astype(np.uint8)
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(str(self.log_dir))
        with self._writer.as_default(step=int(trainer.step.numpy())):
            tf.summary.image(self.name, tile(images, self.columns)[None])
        self._writer.flush()
