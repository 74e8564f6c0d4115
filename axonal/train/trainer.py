"""Trainer: the training loop, with Keras' `fit` / `evaluate` / `predict` on PyTorch-style pieces.

Layer 7.

    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.1, momentum=0.9), F.cross_entropy,
                      metrics=("accuracy", "top5"), callbacks=[EarlyStopping(patience=3)])
    history = trainer.fit(train_loader, epochs=10, val_loader=val_loader)
    trainer.evaluate(test_loader)          # {'loss': 0.061, 'accuracy': 0.981, 'top5_accuracy': 0.999}

The loop owns the bookkeeping: device transfer, per-sample averaging of the step logs over the epoch,
validation, history, callbacks, progress and checkpoints. What one step does is `train_step(batch)`
(and `eval_step(batch)` for evaluation): a model with two optimizers (a GAN) or an extra loss term (a
VAE) subclasses Trainer and overrides just that. A step returns a dict of Python floats; values are
turned into floats with `.item()` before the loop keeps them, so no graph outlives its step.
"""
import numbers
import time

from .. import _config, backend
from .. import distributed as _dist
from ..tensor import Tensor, constant
from . import checkpoint as _ckpt
from .callbacks import CallbackList, LRSchedulerCallback
from .history import History
from .metrics import resolve
from .progress import ProgressBar, eval_bar, resolve_verbose


def _to_device(obj, device):
    if isinstance(obj, Tensor):
        return obj if obj.device == device else obj.to(device)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_device(o, device) for o in obj)
    if isinstance(obj, dict):
        return {k: _to_device(v, device) for k, v in obj.items()}
    return obj


def batch_size_of(batch) -> int:
    """Number of samples in a batch: the length of its first Tensor/array."""
    if isinstance(batch, dict):
        batch = list(batch.values())
    if isinstance(batch, (list, tuple)):
        for item in batch:
            n = batch_size_of(item)
            if n:
                return n
        return 0
    shape = getattr(batch, "shape", None)
    return int(shape[0]) if shape else 0


def _as_float(value, key):
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(f"train_step/eval_step log {key!r} must be a scalar, got shape "
                             f"{tuple(value.shape)}")
        return float(value.item())
    if isinstance(value, numbers.Real):
        return float(value)
    raise TypeError(f"train_step/eval_step log {key!r} must be a number or a scalar Tensor, got "
                    f"{type(value).__name__}")


def _check_loader(loader, name):
    if loader is None or not hasattr(loader, "__iter__"):
        raise TypeError(f"{name} must be an iterable of batches (e.g. a DataLoader), got "
                        f"{type(loader).__name__}")
    try:
        n = len(loader)
    except TypeError:  # a stream without a length
        return None
    if n == 0:
        raise ValueError(f"{name} is empty: it yields no batches (an empty dataset, or drop_last=True "
                         "with batch_size larger than the dataset)")
    return n


class _Averager:
    """Per-sample running averages of step logs: sum(value * batch_size) / samples, per key (a key
    that only some steps report is averaged over those steps' samples)."""

    def __init__(self):
        self.sums, self.counts, self.count = {}, {}, 0

    def add(self, logs, n):
        self.count += n
        for k, v in logs.items():
            self.sums[k] = self.sums.get(k, 0.0) + v * n
            self.counts[k] = self.counts.get(k, 0) + n

    def means(self):
        return {k: s / self.counts[k] for k, s in self.sums.items() if self.counts[k]}


class Trainer:
    """Train `model` with `optimizer` on `loss_fn(outputs, targets)`.

    Args:
        model: an nn.Module; batches are `(inputs, targets)` unless `train_step` is overridden.
        optimizer: an optim.Optimizer (None for evaluation/prediction only).
        loss_fn: callable(outputs, targets) -> scalar Tensor, mean over the batch (e.g.
            F.cross_entropy or nn.CrossEntropyLoss()); None to evaluate metrics only.
        metrics: names ('accuracy', 'top5', 'binary_accuracy'), Metric objects or callables.
        callbacks: Callback objects, called in order (LR scheduler callbacks first, so that
            checkpoints written at the end of an epoch hold the stepped scheduler).
        scheduler: an LR scheduler (stepped per epoch; OneCycleLR/CyclicLR per batch), or an
            LRSchedulerCallback to choose the interval or the monitored value.
        device: move the model and every batch there ('cpu', 'cuda').
        grad_clip: clip the global gradient norm to this value before each step.
    """

    def __init__(self, model, optimizer=None, loss_fn=None, metrics=("accuracy",), callbacks=(),
                 scheduler=None, device=None, grad_clip=None):
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self.metrics = resolve(metrics)
        self.callbacks = list(callbacks)
        self._sched_cb = None
        if isinstance(scheduler, LRSchedulerCallback):
            self._sched_cb, scheduler = scheduler, scheduler.scheduler
        elif scheduler is not None:
            self._sched_cb = LRSchedulerCallback(scheduler)
        self.scheduler = scheduler
        self.device = backend.Device(device) if device is not None else None
        if self.device is not None:
            model.to(self.device)
        if grad_clip is not None and not (isinstance(grad_clip, numbers.Real) and grad_clip > 0):
            raise ValueError(f"grad_clip must be a positive number or None, got {grad_clip!r}")
        self.grad_clip = grad_clip
        self.stop_training = False
        self.history = History()
        self.epoch = 0          # epochs completed
        self.global_step = 0    # optimizer steps taken
        self._train_loader = None
        self._loader_rng = None  # a loader generator state loaded from a checkpoint

    # -- one step ---------------------------------------------------------------------------------
    def unpack(self, batch):
        """(inputs, targets) of a batch: `(x, y)` pairs or lists; a lone Tensor has no targets."""
        if isinstance(batch, Tensor):
            return batch, None
        if isinstance(batch, (list, tuple)) and len(batch) in (1, 2):
            return batch[0], (batch[1] if len(batch) == 2 else None)
        raise TypeError(f"{type(self).__name__}: cannot split a {type(batch).__name__} batch into "
                        "(inputs, targets); override unpack() or train_step()/eval_step()")

    def compute_loss(self, outputs, targets):
        if self.loss_fn is None:
            raise ValueError(f"{type(self).__name__} has no loss_fn")
        return self.loss_fn(outputs, targets)

    def compute_metrics(self, outputs, targets) -> dict:
        if targets is None or not self.metrics:
            return {}
        return {name: m(outputs, targets) for name, m in self.metrics}

    def train_step(self, batch) -> dict:
        """Forward, loss, backward, (clip), optimizer step; returns {'loss': float, **metrics}."""
        if self.optimizer is None:
            raise ValueError(f"{type(self).__name__}.fit needs an optimizer (got None)")
        inputs, targets = self.unpack(batch)
        outputs = self.model(inputs)
        loss = self.compute_loss(outputs, targets)
        self.optimizer.zero_grad()
        loss.backward()
        if self.grad_clip is not None:
            from ..nn.utils import clip_grad_norm_
            clip_grad_norm_(self.model.parameters(), self.grad_clip)
        self.optimizer.step()
        logs = {"loss": loss.item()}
        logs.update(self.compute_metrics(outputs, targets))
        return logs

    def eval_step(self, batch) -> dict:
        """Forward and loss/metrics, called under no_grad with the model in eval mode."""
        inputs, targets = self.unpack(batch)
        outputs = self.model(inputs)
        logs = {}
        if self.loss_fn is not None and targets is not None:
            logs["loss"] = self.compute_loss(outputs, targets).item()
        logs.update(self.compute_metrics(outputs, targets))
        return logs

    def _prepare(self, batch):
        return batch if self.device is None else _to_device(batch, self.device)

    # -- loops ------------------------------------------------------------------------------------
    def _callback_list(self, verbose, params):
        scheds = [cb for cb in self.callbacks if isinstance(cb, LRSchedulerCallback)]
        others = [cb for cb in self.callbacks if not isinstance(cb, LRSchedulerCallback)]
        cbs = ([self._sched_cb] if self._sched_cb is not None else []) + scheds + others
        if verbose:
            cbs.append(ProgressBar(verbose))
        return CallbackList(cbs, self, params)

    def _lr(self):
        if self.optimizer is None or not self.optimizer.param_groups:
            return None
        return float(self.optimizer.param_groups[0]["lr"])

    def fit(self, train_loader, epochs, val_loader=None, initial_epoch=0, verbose="auto") -> History:
        """Train for epochs `initial_epoch .. epochs-1` (Keras' convention: `epochs` is the final
        epoch count, so a run resumed from a checkpoint after 3 epochs uses initial_epoch=3).

        Returns `self.history`: a new History when initial_epoch == 0, else the loaded one (entries
        from initial_epoch on are replaced).
        """
        for name, value in (("epochs", epochs), ("initial_epoch", initial_epoch)):
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 0:
                raise ValueError(f"fit: {name} must be a non-negative int, got {value!r}")
        if initial_epoch > epochs:
            raise ValueError(f"fit: initial_epoch={initial_epoch} is past epochs={epochs}; the model "
                             f"has already trained {initial_epoch} epochs (epochs is the total, not "
                             "the number still to run)")
        steps = _check_loader(train_loader, "train_loader")
        if val_loader is not None:
            _check_loader(val_loader, "val_loader")
        verbose = resolve_verbose(verbose) if _dist.is_main_process() else 0  # one rank prints
        if initial_epoch == 0:
            self.history = History()
        else:
            self.history.truncate(initial_epoch)
        self._train_loader = train_loader
        gen = getattr(train_loader, "generator", None)
        if self._loader_rng is not None and gen is not None:
            gen.set_state(self._loader_rng)
        self._loader_rng = None
        params = {"epochs": int(epochs), "steps": steps, "initial_epoch": int(initial_epoch),
                  "verbose": verbose}
        self.history.params = dict(params)
        cbs = self._callback_list(verbose, params)
        self.stop_training = False
        logs = {}
        cbs.on_train_begin()
        try:
            for epoch in range(initial_epoch, epochs):
                logs = self._run_epoch(train_loader, val_loader, epoch, cbs)
                if self.stop_training:
                    break
        finally:
            cbs.on_train_end(logs)
        return self.history

    def _run_epoch(self, train_loader, val_loader, epoch, cbs):
        cbs.on_epoch_begin(epoch)
        start = time.perf_counter()
        self.model.train()
        if hasattr(getattr(train_loader, "sampler", None), "set_epoch"):  # DistributedSampler
            train_loader.sampler.set_epoch(epoch)
        avg = _Averager()
        for step, batch in enumerate(train_loader):
            cbs.on_batch_begin(step)
            batch = self._prepare(batch)
            n = batch_size_of(batch)
            step_logs = {k: _as_float(v, k) for k, v in self.train_step(batch).items()}
            self.global_step += 1
            avg.add(step_logs, n)
            cbs.on_batch_end(step, avg.means())
            if self.stop_training:  # TerminateOnNaN and friends stop mid-epoch
                break
        if avg.count == 0:
            raise ValueError(f"train_loader yielded no samples in epoch {epoch + 1}")
        logs = _dist.average_logs(avg.sums, avg.counts) if _dist.is_distributed() else avg.means()
        if val_loader is not None:
            logs.update({"val_" + k: v for k, v in self.evaluate(val_loader, verbose=0).items()})
        lr = self._lr()
        if lr is not None:
            logs["lr"] = lr
        logs["seconds"] = time.perf_counter() - start
        self.epoch = epoch + 1
        self.history.append(epoch, logs)
        cbs.on_epoch_end(epoch, logs)
        return logs

    def _eval_mode_loop(self, loader, verbose, desc, body):
        _check_loader(loader, "loader")
        was_training = self.model.training
        self.model.eval()
        try:
            with _config.no_grad():
                shown = resolve_verbose(verbose) if verbose and _dist.is_main_process() else 0
                for batch in eval_bar(loader, shown, desc):
                    body(self._prepare(batch))
        finally:
            self.model.train(was_training)

    def evaluate(self, loader, verbose=0) -> dict:
        """Per-sample averages of eval_step's logs over `loader` ({'loss': ..., 'accuracy': ...})."""
        avg = _Averager()

        def body(batch):
            logs = {k: _as_float(v, k) for k, v in self.eval_step(batch).items()}
            avg.add(logs, batch_size_of(batch))

        self._eval_mode_loop(loader, verbose, "Evaluate", body)
        if avg.count == 0:
            raise ValueError("evaluate: the loader yielded no samples")
        return _dist.average_logs(avg.sums, avg.counts) if _dist.is_distributed() else avg.means()

    def predict(self, loader, verbose=0):
        """The model's outputs for every batch, concatenated along dim 0 (a Tensor, no graph).
        Batches may be `(inputs, targets)` (targets are ignored) or bare inputs."""
        chunks = []

        def body(batch):
            inputs, _ = self.unpack(batch)
            out = self.model(inputs)
            if not isinstance(out, Tensor):
                raise TypeError(f"predict: the model returned {type(out).__name__}; predict "
                                "concatenates Tensors")
            chunks.append(out._data)

        self._eval_mode_loop(loader, verbose, "Predict", body)
        xp = backend.xp_of(*chunks)
        return constant(xp.concatenate(chunks, axis=0))

    # -- checkpoints ------------------------------------------------------------------------------
    def _callback_keys(self):
        keys, seen = [], {}
        for cb in self.callbacks:
            name = type(cb).__name__
            seen[name] = seen.get(name, -1) + 1
            keys.append((name if seen[name] == 0 else f"{name}_{seen[name]}", cb))
        return keys

    def state_dict(self) -> dict:
        """What the loop itself must remember to resume: step count, callback and loader states."""
        gen = getattr(self._train_loader, "generator", None)
        return {"global_step": self.global_step,
                "callbacks": {k: cb.state_dict() for k, cb in self._callback_keys()},
                "loader_rng": gen.get_state() if gen is not None else None}

    def save_checkpoint(self, path, extra=None) -> None:
        """Write a full training checkpoint (see axonal.train.checkpoint) after `self.epoch` epochs.
        Distributed: rank 0 writes (all ranks hold the same weights), without DDP's 'module.'."""
        if not _dist.is_main_process():
            return
        _ckpt.save_checkpoint(path, _dist.unwrap_model(self.model), self.optimizer, self.scheduler,
                              self.epoch, self.history, extra, trainer_state=self.state_dict())

    def load_checkpoint(self, path, restore_rng=True) -> dict:
        """Restore model, optimizer, scheduler, RNG, history, step count and callback states from a
        checkpoint; returns it. Continue with `fit(loader, epochs, initial_epoch=trainer.epoch)`."""
        ckpt = _ckpt.load_checkpoint(path, _dist.unwrap_model(self.model), self.optimizer,
                                     self.scheduler, restore_rng=restore_rng)
        self.epoch = int(ckpt["epoch"])
        self.history = ckpt["history"]
        state = ckpt.get("trainer") or {}
        self.global_step = int(state.get("global_step", 0))
        saved = state.get("callbacks") or {}
        for key, cb in self._callback_keys():
            if key in saved:
                cb.load_state_dict(saved[key])
        self._loader_rng = state.get("loader_rng")
        return ckpt


def fit(model, train_loader, epochs=1, *, optimizer=None, loss_fn=None, val_loader=None,
        metrics=("accuracy",), callbacks=(), scheduler=None, device=None, grad_clip=None,
        initial_epoch=0, verbose="auto") -> History:
    """One-call training. Defaults: Adam(lr=1e-3) and cross-entropy (a classifier)."""
    if optimizer is None:
        from ..optim import Adam
        optimizer = Adam(model.parameters(), lr=1e-3)
    if loss_fn is None:
        from ..nn.functional import cross_entropy
        loss_fn = cross_entropy
    trainer = Trainer(model, optimizer, loss_fn, metrics=metrics, callbacks=callbacks,
                      scheduler=scheduler, device=device, grad_clip=grad_clip)
    return trainer.fit(train_loader, epochs, val_loader=val_loader, initial_epoch=initial_epoch,
                       verbose=verbose)


__all__ = ["Trainer", "batch_size_of", "fit"]
