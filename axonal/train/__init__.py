"""Training loop: `Trainer` / `fit`, callbacks, metrics, History, progress, checkpoints, plots.

Layer 7 (may import nn, optim, utils.data, datasets, serialization, ops, tensor, random).

    from axonal.train import Trainer, EarlyStopping, ModelCheckpoint
    trainer = Trainer(model, optimizer, F.cross_entropy, callbacks=[EarlyStopping(patience=2)])
    history = trainer.fit(train_loader, epochs=10, val_loader=val_loader)
"""
from .bptt import truncated_bptt
from .callbacks import (
    Callback,
    CallbackList,
    CSVLogger,
    EarlyStopping,
    LambdaCallback,
    LRSchedulerCallback,
    ModelCheckpoint,
    TerminateOnNaN,
)
from .checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from .history import History
from .metrics import Accuracy, BinaryAccuracy, Metric, TopKAccuracy, get_metric
from .plots import plot_history
from .progress import ProgressBar
from .trainer import Trainer, fit

__all__ = [
    "Accuracy", "BinaryAccuracy", "CSVLogger", "Callback", "CallbackList", "EarlyStopping", "History",
    "LRSchedulerCallback", "LambdaCallback", "Metric", "ModelCheckpoint", "ProgressBar",
    "TerminateOnNaN", "TopKAccuracy", "Trainer", "fit", "get_metric", "load_checkpoint",
    "plot_history", "read_checkpoint", "save_checkpoint", "truncated_bptt",
]
