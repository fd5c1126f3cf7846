"""The training engine every lab uses (DESIGN.md section 4).

    from mit_dl.training import Trainer
    trainer = Trainer(model, keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"], checkpoint_dir="runs/x/checkpoints")
    history = trainer.fit(train_data, epochs=5, validation_data=test_data)
"""

from mit_dl.training.callbacks import Callback, EarlyStopping, NaNGuard, TrainingDiverged
from mit_dl.training.determinism import enable_determinism
from mit_dl.training.trainer import Trainer

__all__ = ["Trainer", "Callback", "EarlyStopping", "NaNGuard", "TrainingDiverged", "enable_determinism"]
