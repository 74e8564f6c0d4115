"""Callbacks: code that runs at fixed points of `Trainer.fit` (Keras' hook names and arguments).

Layer 7. Hooks: on_train_begin/end(logs), on_epoch_begin/end(epoch, logs), on_batch_begin/end(step,
logs). `epoch` is 0-based; epoch-end `logs` hold the epoch's averages ('loss', 'accuracy', 'val_loss',
..., 'lr', 'seconds'); batch-end `logs` hold the running averages of the epoch so far. A callback
reaches the run through `self.trainer` (model, optimizer, `stop_training`, history) and `self.params`
({'epochs', 'steps', 'initial_epoch', 'verbose'}).

Callbacks with state that matters for an exact resume (EarlyStopping's counter and best weights,
ModelCheckpoint's best value) implement `state_dict()` / `load_state_dict()`; the Trainer stores those in
its checkpoints and restores them with `Trainer.load_checkpoint`.
"""
import math
import os
import warnings


class Callback:
    def __init__(self):
        self.trainer = None
        self.params = {}

    def set_trainer(self, trainer):
        self.trainer = trainer

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_batch_begin(self, step, logs=None): ...
    def on_batch_end(self, step, logs=None): ...

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state) -> None:
        pass


class CallbackList:
    """Calls every hook on each callback in order."""

    def __init__(self, callbacks, trainer, params):
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be Callback instances, got {type(cb).__name__}")
            cb.set_trainer(trainer)
            cb.set_params(params)

    def __getattr__(self, hook):
        if not hook.startswith("on_"):
            raise AttributeError(hook)

        def call(*args):
            for cb in self.callbacks:
                getattr(cb, hook)(*args)
        return call


def _resolve_mode(mode, monitor, who):
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{who}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":  # Keras' rule: accuracies (and AUCs) grow, everything else shrinks
        return "max" if ("acc" in monitor or monitor.endswith("auc")) else "min"
    return mode


def _monitored(logs, monitor, who):
    if monitor not in logs:
        hint = " (pass val_loader to fit())" if monitor.startswith("val_") else ""
        raise KeyError(f"{who}: monitored value {monitor!r} is not in the logs{hint}; available: "
                       f"{sorted(logs)}")
    return float(logs[monitor])


class _Monitor:
    """The improvement test shared by EarlyStopping and ModelCheckpoint."""

    def __init__(self, monitor, mode, min_delta, who):
        self.monitor = monitor
        self.mode = _resolve_mode(mode, monitor, who)
        self.min_delta = abs(float(min_delta))
        self.who = who
        self.best = math.inf if self.mode == "min" else -math.inf

    def improved(self, value):
        if math.isnan(value):
            return False
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def reset(self):
        self.best = math.inf if self.mode == "min" else -math.inf


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by more than `min_delta` for `patience` epochs.

    With `restore_best_weights`, the model ends training with the weights of its best epoch (a copy
    is kept in memory each time the monitored value improves).
    """

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        if not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be a non-negative int, got {patience!r}")
        self._m = _Monitor(monitor, mode, min_delta, "EarlyStopping")
        self.monitor, self.mode, self.patience = monitor, self._m.mode, patience
        self.verbose, self.baseline = verbose, baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self._reset()

    def _reset(self):
        self._m.reset()
        if self.baseline is not None:
            self._m.best = float(self.baseline)
        self.wait, self.stopped_epoch, self.best_epoch = 0, -1, -1
        self.best_weights = None

    @property
    def best(self):
        return self._m.best

    def on_train_begin(self, logs=None):
        if self.params.get("initial_epoch", 0) == 0:  # a resumed run keeps its loaded state
            self._reset()

    def on_epoch_end(self, epoch, logs=None):
        if epoch < self.start_from_epoch:
            return
        value = _monitored(logs or {}, self.monitor, "EarlyStopping")
        if self._m.improved(value):
            self._m.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                # copies: the live arrays are updated in place by the optimizer
                self.best_weights = {k: v._data.copy()
                                     for k, v in self.trainer.model.state_dict().items()}
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.trainer.stop_training = True
            if self.verbose:
                print(f"EarlyStopping: {self.monitor} has not improved for {self.wait} epochs "
                      f"(best {self._m.best:.6g} at epoch {self.best_epoch + 1}); stopping")

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.trainer.model.load_state_dict(self.best_weights)
            if self.verbose:
                print(f"EarlyStopping: restored the weights of epoch {self.best_epoch + 1}")

    def state_dict(self):
        return {"best": self._m.best, "wait": self.wait, "best_epoch": self.best_epoch,
                "stopped_epoch": self.stopped_epoch, "best_weights": self.best_weights}

    def load_state_dict(self, state):
        self._m.best = float(state["best"])
        self.wait, self.best_epoch = int(state["wait"]), int(state["best_epoch"])
        self.stopped_epoch = int(state["stopped_epoch"])
        weights = state.get("best_weights")
        self.best_weights = None if weights is None else {
            k: getattr(v, "data", v) for k, v in weights.items()}


class ModelCheckpoint(Callback):
    """Write a full training checkpoint (model, optimizer, scheduler, RNG, history, epoch) at the end
    of each epoch, or only when `monitor` improves (`save_best_only`).

    `filepath` may contain format fields: `'ckpt-{epoch:02d}-{val_loss:.3f}'` (epoch is 1-based, the
    number of epochs completed). Writes are atomic (`axonal.save`), so a crash mid-write leaves the
    previous checkpoint intact. `extra` (a dict of strings/numbers) is stored alongside, e.g. the recipe
    name and model configuration needed to rebuild the model.

    A checkpoint is never silently replaced: a run that starts from scratch (initial_epoch 0)
    refuses to write over a file that it did not write itself (FileExistsError, raised when
    training begins for a plain path, at the first save for a template) unless `overwrite=True`.
    A resumed run (initial_epoch > 0) continues its checkpoint.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, mode="auto",
                 extra=None, overwrite=False):
        super().__init__()
        self.filepath, self.overwrite = os.fspath(filepath), bool(overwrite)
        self._written = set()
        self.monitor, self.verbose, self.save_best_only = monitor, verbose, save_best_only
        self._m = _Monitor(monitor, mode, 0.0, "ModelCheckpoint")
        self.extra = dict(extra or {})
        self.last_saved = None

    @property
    def best(self):
        return self._m.best

    def on_train_begin(self, logs=None):
        if self.params.get("initial_epoch", 0) == 0:
            self._m.reset()
        if "{" not in self.filepath:
            self._check_free(self.filepath)

    def _check_free(self, path):
        if (self.overwrite or self.params.get("initial_epoch", 0) > 0 or path in self._written
                or not os.path.exists(path)):
            return
        raise FileExistsError(f"ModelCheckpoint: {path} already exists and this run did not write "
                              "it; resume from it, or pass overwrite=True to replace it")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.save_best_only:
            value = _monitored(logs, self.monitor, "ModelCheckpoint")
            if not self._m.improved(value):
                return
            self._m.best = value
        try:
            path = self.filepath.format(epoch=epoch + 1, **logs)
        except (KeyError, IndexError, ValueError) as e:
            raise ValueError(f"ModelCheckpoint: cannot fill the path template {self.filepath!r} "
                             f"from epoch and logs {sorted(logs)}: {e}") from e
        # the new best must be in the saved callback states, hence the update before saving
        self._check_free(path)
        self.trainer.save_checkpoint(path, extra=self.extra)
        self.last_saved = path
        self._written.add(path)
        if self.verbose:
            print(f"ModelCheckpoint: saved {path}")

    def state_dict(self):
        return {"best": self._m.best}

    def load_state_dict(self, state):
        self._m.best = float(state["best"])


def _is_plateau(scheduler):
    return type(scheduler).__name__ == "ReduceLROnPlateau"


_STEPWISE = ("OneCycleLR", "CyclicLR")  # schedules defined per optimizer step, not per epoch


class LRSchedulerCallback(Callback):
    """Step an LR scheduler once per epoch (default) or once per batch (`interval='step'`).

    ReduceLROnPlateau receives the monitored value (`monitor`, default 'val_loss'). OneCycleLR and
    CyclicLR default to per-step stepping. The epoch-wise step runs after the epoch's logs are final,
    so the logged 'lr' is the rate the epoch trained with.
    """

    def __init__(self, scheduler, interval=None, monitor="val_loss"):
        super().__init__()
        if interval is None:
            interval = "step" if type(scheduler).__name__ in _STEPWISE else "epoch"
        if interval not in ("epoch", "step"):
            raise ValueError(f"LRSchedulerCallback: interval must be 'epoch' or 'step', got "
                             f"{interval!r}")
        if not hasattr(scheduler, "step"):
            raise TypeError(f"LRSchedulerCallback: {type(scheduler).__name__} has no step() method")
        if _is_plateau(scheduler) and interval == "step":
            raise ValueError("LRSchedulerCallback: ReduceLROnPlateau needs an epoch's monitored value; "
                             "use interval='epoch'")
        self.scheduler, self.interval, self.monitor = scheduler, interval, monitor

    def on_batch_end(self, step, logs=None):
        if self.interval == "step":
            self.scheduler.step()

    def on_epoch_end(self, epoch, logs=None):
        if self.interval != "epoch":
            return
        if _is_plateau(self.scheduler):
            self.scheduler.step(_monitored(logs or {}, self.monitor, "LRSchedulerCallback"))
        else:
            self.scheduler.step()

    def state_dict(self):
        return {"scheduler": self.scheduler.state_dict()} if hasattr(self.scheduler, "state_dict") else {}

    def load_state_dict(self, state):
        if "scheduler" in state:
            self.scheduler.load_state_dict(state["scheduler"])


class CSVLogger(Callback):
    """Append one row per epoch to a CSV file: `epoch` (0-based, like Keras) then the sorted log keys.

    The header comes from the first epoch's keys; a key missing later is written as empty. With
    `append=True` (what a resumed run wants) an existing file is continued without a second header.
    Each row is flushed, so the file is readable while training runs.
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep, self.append = separator, append
        self.keys, self._fh = None, None

    def on_train_begin(self, logs=None):
        resume = self.append or self.params.get("initial_epoch", 0) > 0
        has_rows = resume and os.path.isfile(self.filename) and os.path.getsize(self.filename) > 0
        self.keys = None
        if has_rows:
            with open(self.filename, encoding="utf-8") as f:
                header = f.readline().rstrip("\n")
            self.keys = header.split(self.sep)[1:] if header else None
        # kept open across epochs (closed in on_train_end): one row is appended per epoch
        self._fh = open(self.filename, "a" if has_rows else "w", encoding="utf-8",  # noqa: SIM115
                        newline="")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            self._fh.write(self.sep.join(["epoch"] + self.keys) + "\n")
        extra = set(logs) - set(self.keys)
        if extra:
            warnings.warn(f"CSVLogger: {sorted(extra)} appeared after the header was written; "
                          "they are not logged", stacklevel=2)
        row = [str(epoch)] + [repr(float(logs[k])) if k in logs else "" for k in self.keys]
        self._fh.write(self.sep.join(row) + "\n")
        self._fh.flush()

    def on_train_end(self, logs=None):
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class TerminateOnNaN(Callback):
    """Stop training as soon as the running loss is NaN or infinite."""

    def on_batch_end(self, step, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"TerminateOnNaN: loss is {loss} at step {step}; stopping")
            self.trainer.stop_training = True


class LambdaCallback(Callback):
    """A callback from plain functions: `LambdaCallback(on_epoch_end=lambda epoch, logs: ...)`."""

    def __init__(self, **hooks):
        super().__init__()
        for name, fn in hooks.items():
            if not name.startswith("on_") or not hasattr(Callback, name):
                raise ValueError(f"LambdaCallback: unknown hook {name!r}")
            setattr(self, name, fn)


__all__ = ["CSVLogger", "Callback", "CallbackList", "EarlyStopping", "LRSchedulerCallback",
           "LambdaCallback", "ModelCheckpoint", "TerminateOnNaN"]
