"""The training engine every lab uses: the Trainer, its callbacks, and the run record.

    from mit_dl.training import Trainer
    trainer = Trainer(model, keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"], checkpoint_dir="runs/x/checkpoints")
    history = trainer.fit(train_data, epochs=5, validation_data=test_data)

A lab's ``train`` module starts a `Run` from its config first (`mit_dl.training.runs`):
it owns the run directory, the recorded settings, the seed, the precision
policy and the ``tf.distribute`` strategy.
"""

from mit_dl.training.callbacks import Callback, EarlyStopping, NaNGuard, TrainingDiverged
from mit_dl.training.determinism import enable_determinism
from mit_dl.training.runs import Run
from mit_dl.training.trainer import Trainer, TrainingInterrupted

__all__ = [
    "Trainer",
    "Run",
    "Callback",
    "EarlyStopping",
    "NaNGuard",
    "TrainingDiverged",
    "TrainingInterrupted",
    "enable_determinism",
]
