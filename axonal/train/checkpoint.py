"""Training checkpoints: everything needed to continue a run exactly where it stopped.

Layer 7. A checkpoint is one file written by `axonal.save` (safetensors layout, no pickle, atomic: a
crash mid-write leaves the previous file intact). It holds a nested dict:

    kind       "axonal.train.checkpoint"     version  1
    epoch      epochs completed (resume with fit(..., initial_epoch=epoch))
    model      model.state_dict()            optimizer / scheduler   their state_dict() or None
    rng        axonal's default Generator state: DataLoader shuffling (which draws each epoch's seed
               from it) and dropout masks continue the same random stream after a resume
    history    History.state_dict()          trainer  step counter, callback and loader RNG states
    extra      free-form metadata (the CLI stores the recipe name and model config here)

Resuming in a fresh process and training on gives bit-identical weights (on the CPU) to an
uninterrupted run, because every piece of state that influences the next update is in the file.
"""
import os

from .. import random as _random
from ..serialization import load, save
from .history import History

KIND, VERSION = "axonal.train.checkpoint", 1


def _state_or_none(obj):
    return None if obj is None else obj.state_dict()


def save_checkpoint(path, model, optimizer=None, scheduler=None, epoch=0, history=None, extra=None,
                    *, trainer_state=None):
    """Write a training checkpoint to `path` atomically (see the module docstring for the content).

    `history` may be a History or its state_dict; `extra` a dict of metadata; `trainer_state` a dict
    the Trainer fills (global step, callback states, loader generator state).
    """
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
        raise ValueError(f"save_checkpoint: epoch must be a non-negative int, got {epoch!r}")
    if isinstance(history, History):
        history = history.state_dict()
    if extra is not None and not isinstance(extra, dict):
        raise TypeError(f"save_checkpoint: extra must be a dict, got {type(extra).__name__}")
    obj = {
        "kind": KIND, "version": VERSION, "epoch": epoch,
        "model": model.state_dict(),
        "optimizer": _state_or_none(optimizer),
        "scheduler": _state_or_none(scheduler),
        "rng": _random.get_rng_state(),
        "history": history if history is not None else History().state_dict(),
        "trainer": trainer_state or {},
        "extra": extra or {},
    }
    parent = os.path.dirname(os.path.abspath(os.fspath(path)))
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"save_checkpoint: directory {parent} does not exist")
    save(obj, path)


def read_checkpoint(path, map_location=None) -> dict:
    """The checkpoint's raw dict, checked to be a training checkpoint; nothing is restored."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"checkpoint file not found: {path}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"checkpoint path is a directory, not a file: {path}")
    obj = load(path, map_location=map_location)
    if not isinstance(obj, dict) or obj.get("kind") != KIND:
        raise ValueError(f"{path} is an axonal file but not a training checkpoint (no "
                         f"kind={KIND!r}); for a bare state_dict use model.load_state_dict("
                         "axonal.load(path))")
    if obj.get("version") != VERSION:
        raise ValueError(f"{path}: checkpoint version {obj.get('version')!r} is not supported "
                         f"(this axonal reads version {VERSION})")
    return obj


def _device_of(model):
    for p in model.parameters():
        return p.device
    return None


def load_checkpoint(path, model, optimizer=None, scheduler=None, *, restore_rng=True):
    """Restore `model` (and `optimizer`, `scheduler` when given) from a checkpoint, and axonal's RNG
    state unless `restore_rng=False`. Returns the checkpoint dict with 'history' as a History.

    The model's keys and shapes must match exactly (strict loading); an optimizer or scheduler asked
    for but not stored in the file is an error rather than a silent fresh start.
    """
    ckpt = read_checkpoint(path, map_location=_device_of(model))
    model.load_state_dict(ckpt["model"])
    for name, obj in (("optimizer", optimizer), ("scheduler", scheduler)):
        if obj is None:
            continue
        if ckpt.get(name) is None:
            raise ValueError(f"{os.fspath(path)} holds no {name} state, but a {name} was given to "
                             "load_checkpoint")
        obj.load_state_dict(ckpt[name])
    if restore_rng:
        _random.set_rng_state(ckpt["rng"])
    ckpt["history"] = History.from_state_dict(ckpt.get("history") or {})
    return ckpt
