"""Running recipes: `train(name, ...)` and `evaluate(checkpoint)`, what `axonal train/evaluate` call.

Layer 9. A training run writes to its output directory (default runs/NAME):

    checkpoint    the latest full training checkpoint (rewritten atomically after every epoch; its
                  `extra` holds the recipe name, model config and run options, so `--resume` and
                  `axonal evaluate` need nothing else)
    metrics.json  the final numbers under plain names: test_accuracy, test_loss (official test set),
                  val_loss, val_accuracy, train_loss, train_accuracy (last epoch; train values are
                  averages over the epoch, with dropout on), epochs (completed in total), seconds
                  (wall time of the whole command: data, training, test), seconds_per_epoch and
                  epoch_seconds (training + validation, epochs run by this command only)
    curves.png    loss and accuracy per epoch (needs matplotlib; skipped with a note otherwise)
    log.csv       one row per epoch

Runs are never lost: a run refuses an output directory that already holds a checkpoint unless it
resumes that checkpoint (`resume=`) or is told to replace it (`overwrite=True`); the rule is also
enforced by the ModelCheckpoint that writes it.

Resuming (`resume=PATH`) restores model, optimizer, scheduler, RNG and history, and takes batch size,
learning rate, training-set limit and recipe options from the checkpoint unless given again, so an
interrupted run continued with the same --epochs ends with the same weights as an uninterrupted one.
Its output directory defaults to the checkpoint's. A larger --epochs re-plans the LR schedule for the
new total (`optim.lr_scheduler.replan`): from the first resumed step on, the lr is the one a fresh run
of that length would use; a schedule that cannot be re-planned is refused before anything is written.

`AXONAL_SMOKE=1` (read by `train` and `evaluate`) makes every run a quick check of the commands:
at most 2 epochs on at most 256 training samples, validation and test on at most 500 samples.
"""
import copy
import json
import os
import time

from .registry import get_recipe

_OPTIONS = ("epochs", "lr", "batch_size", "seed")
SMOKE_ENV = "AXONAL_SMOKE"
_SMOKE_EPOCHS, _SMOKE_TRAIN, _SMOKE_EVAL = 2, 256, 500


def smoke_mode() -> bool:
    """True when AXONAL_SMOKE is set to anything but '', '0' or 'false'."""
    return os.environ.get(SMOKE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def _smaller(ds, n):
    from ..utils.data import Subset
    return ds if len(ds) <= n else Subset(ds, list(range(n)))


def _positive(name, value, kind=int):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0 or (
            kind is int and int(value) != value):
        raise ValueError(f"{name} must be a positive {kind.__name__}, got {value!r}")
    return kind(value)


def _check_device(device):
    """Fail before loading any data when the device cannot work here (no CuPy, bad name)."""
    if device is not None:
        from .. import backend
        backend.xp_for(backend.Device(device))


def _write_json(path, obj):
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def check_out(out, resume=None, overwrite=False):
    """Refuse to write a run into `out` when it already holds a checkpoint that this run does not
    continue (a finished or interrupted run would be lost)."""
    ckpt = os.path.join(out, "checkpoint")
    if overwrite or not os.path.exists(ckpt):
        return
    if resume is not None and os.path.exists(resume) and os.path.samefile(ckpt, resume):
        return
    raise FileExistsError(f"{out} already holds a checkpoint from an earlier run ({ckpt}); continue "
                          f"it with --resume {ckpt}, replace it with --overwrite, or choose "
                          "another --out")


def train(name, *, epochs=None, lr=None, batch_size=None, seed=None, resume=None, out=None,
          data=None, quiet=False, limit_train=None, device=None, options=None, log=print,
          overwrite=False):
    """Run recipe `name`; returns the metrics dict also written to OUT/metrics.json. `options`
    ({"cell": "irnn"}) sets recipe-specific choices the recipe declares in its `options` dict.
    `overwrite=True` replaces a checkpoint already in OUT (else that is an error)."""
    import axonal

    from .. import distributed as dist
    from ..train import CSVLogger, ModelCheckpoint, plot_history, read_checkpoint
    from ..utils.data import DataLoader

    started = time.perf_counter()
    if not dist.is_main_process():  # a --nproc run: only rank 0 prints and writes files
        log, quiet = (lambda *a, **k: None), True
    rec = get_recipe(name)
    epochs = _positive("epochs", epochs)
    lr, batch_size = _positive("lr", lr, float), _positive("batch_size", batch_size)
    limit_train = _positive("limit_train", limit_train)
    if seed is not None and (not isinstance(seed, int) or seed < 0):
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    _check_device(device)

    saved, trained = {}, 0
    if resume is not None:
        resume = os.fspath(resume)
        ckpt = read_checkpoint(resume)  # FileNotFoundError, corruption, format errors name the file
        extra = ckpt.get("extra") or {}
        if extra.get("recipe") != name:
            raise ValueError(f"{resume} was written by recipe {extra.get('recipe')!r}, not {name!r}")
        saved = dict(extra.get("options") or {})
        _apply_options(rec, {**(saved.get("recipe_options") or {}), **(options or {})})
        config = extra.get("model_config") or rec.model_config()
        rec.check_resume(config)  # e.g. resnet: the dataset it was trained on; before any data loads
        if epochs is not None and epochs < int(ckpt.get("epoch", 0)):
            raise ValueError(f"{resume} has already trained {ckpt['epoch']} epochs; --epochs is the "
                             f"total, so pass --epochs greater than {ckpt['epoch']} to train more")
        trained = int(ckpt.get("epoch", 0))
        del ckpt
    else:
        _apply_options(rec, options)
        config = rec.model_config()
    opts = {k: v for k, v in rec.defaults.items() if k in _OPTIONS}
    opts.update({k: v for k, v in saved.items() if k in _OPTIONS or k == "limit_train"})
    given = {"epochs": epochs, "lr": lr, "batch_size": batch_size, "seed": seed}
    opts.update({k: v for k, v in given.items() if v is not None})
    if limit_train is not None:
        opts["limit_train"] = limit_train
    smoke = smoke_mode()
    if smoke:
        opts["epochs"] = max(min(int(opts["epochs"]), _SMOKE_EPOCHS), trained)
        opts["limit_train"] = min(opts.get("limit_train") or _SMOKE_TRAIN, _SMOKE_TRAIN)
    if getattr(rec, "options", None):
        opts["recipe_options"] = dict(rec.options)
    if out is None:
        out = (os.path.dirname(resume) or ".") if resume is not None else os.path.join("runs", name)
    out = os.fspath(out)
    check_out(out, resume, overwrite)
    if resume is not None and saved.get("epochs") not in (None, opts["epochs"]):
        _check_replannable(rec, float(opts["lr"]), int(opts["epochs"]))
    os.makedirs(out, exist_ok=True)

    axonal.manual_seed(int(opts["seed"]))
    train_ds, val_ds, test_ds = rec.datasets(data, opts.get("limit_train"))
    if smoke:
        val_ds, test_ds = _smaller(val_ds, _SMOKE_EVAL), _smaller(test_ds, _SMOKE_EVAL)
    model = rec.build_model(config)
    train_loader = DataLoader(train_ds, batch_size=int(opts["batch_size"]), shuffle=True)
    trained = model
    if dist.is_distributed():  # each rank its share of every batch; gradients averaged
        train_loader = dist.sharded_loader(train_ds, int(opts["batch_size"]), int(opts["seed"]))
        trained = dist.DistributedDataParallel(model)
    val_loader = DataLoader(val_ds, batch_size=rec.eval_batch_size)
    test_loader = DataLoader(test_ds, batch_size=rec.eval_batch_size)
    optimizer = rec.optimizer(model, float(opts["lr"]))
    scheduler = rec.scheduler(optimizer, int(opts["epochs"]), len(train_loader))
    meta = {"recipe": name, "model_config": config, "options": opts,
            "axonal_version": axonal.__version__}
    ckpt_path = os.path.join(out, "checkpoint")
    callbacks = [ModelCheckpoint(ckpt_path, save_best_only=False, extra=meta,
                                 overwrite=overwrite or resume is not None),
                 CSVLogger(os.path.join(out, "log.csv"), append=resume is not None)]
    callbacks = callbacks if dist.is_main_process() else callbacks[:1]  # rank 0 writes log.csv
    trainer = rec.make_trainer(trained, optimizer, rec.loss_fn(), metrics=rec.metrics,
                               callbacks=callbacks, scheduler=scheduler, device=device)
    replanned = None
    if resume is not None:
        fresh = copy.copy(trainer.scheduler)  # the schedule planned for this run's --epochs
        trainer.load_checkpoint(resume)
        if trainer.scheduler is not None and saved.get("epochs") not in (None, opts["epochs"]):
            from ..optim.lr_scheduler import replan
            if replan(trainer.scheduler, fresh):
                replanned = (saved["epochs"], trainer.optimizer.param_groups[0]["lr"])
    first = trainer.epoch
    verbose = 0 if quiet else "auto"
    if not quiet:
        log(f"{name}: {len(train_ds)} train / {len(val_ds)} val / {len(test_ds)} test samples, "
            f"epochs {first + 1}..{opts['epochs']}, batch {opts['batch_size']}, lr {opts['lr']}, "
            f"seed {opts['seed']}" + (f", resumed from {resume}" if resume else "")
            + (", smoke run (AXONAL_SMOKE)" if smoke else ""))
        if replanned:
            log(f"{name}: LR schedule re-planned from {replanned[0]} to {opts['epochs']} epochs; "
                f"lr now {replanned[1]:.6g}")
    history = trainer.fit(train_loader, int(opts["epochs"]), val_loader=val_loader,
                          initial_epoch=first, verbose=verbose)
    if trainer.epoch == first:  # nothing trained (--epochs reached): OUT still gets a checkpoint
        trainer.save_checkpoint(ckpt_path, extra=meta)
    test = trainer.evaluate(test_loader, verbose=verbose)

    epoch_secs = [s for e, s in zip(history.epoch, history.history.get("seconds", [])) if e >= first]
    last = history.last()
    metrics = {"recipe": name, "epochs": trainer.epoch, "epochs_this_run": len(epoch_secs),
               "train_samples": len(train_ds), "seed": opts["seed"], "lr": opts["lr"],
               "batch_size": opts["batch_size"],
               "seconds": time.perf_counter() - started,
               "seconds_per_epoch": sum(epoch_secs) / len(epoch_secs) if epoch_secs else None,
               "epoch_seconds": list(epoch_secs)}
    for key in ("loss", "accuracy"):
        if key in test:
            metrics[f"test_{key}"] = test[key]
        for src, dst in ((key, f"train_{key}"), (f"val_{key}", f"val_{key}")):
            if src in last:
                metrics[dst] = last[src]
    for key, value in test.items():  # other metrics (top5_accuracy ...) keep their names
        metrics.setdefault(f"test_{key}", value)
    if not dist.is_main_process():
        return metrics
    extra_metrics, extra_files = rec.report(model, trainer, (train_ds, val_ds, test_ds), out, log)
    metrics.update(extra_metrics)  # baselines, sample quality, ... (plots are written by report)
    metrics["seconds"] = time.perf_counter() - started
    _write_json(os.path.join(out, "metrics.json"), metrics)
    written = ["metrics.json", "checkpoint", "log.csv", *extra_files]
    if len(history):
        try:
            plot_history(history, os.path.join(out, "curves.png"), title=name)
            written.append("curves.png")
        except ImportError as e:
            log(f"note: curves.png not written: {e}")
    _summary(log, name, metrics, out, written)
    return metrics


def _check_replannable(rec, lr, epochs):
    """Fail before any data loads or file is written when the recipe's LR schedule cannot be
    given a new length (probed on a throwaway one-parameter optimizer)."""
    from .. import nn
    from ..optim.lr_scheduler import can_replan

    probe = rec.optimizer(nn.Linear(1, 1), lr)
    sched = rec.scheduler(probe, epochs, 1)
    sched = getattr(sched, "scheduler", sched)  # an LRSchedulerCallback holds the schedule
    if sched is not None and not can_replan(sched):
        raise ValueError(f"recipe {rec.name!r}: its {type(sched).__name__} schedule cannot be "
                         "re-planned for a different number of epochs; resume with the original "
                         "--epochs, or start a new run")


def _apply_options(rec, options):
    if not options:
        return
    known = getattr(rec, "options", None)
    unknown = sorted(set(options) - set(known or {}))
    if unknown:
        raise ValueError(f"recipe {rec.name!r} has no option {', '.join(unknown)} (options: "
                         f"{', '.join(sorted(known or {})) or 'none'})")
    rec.options = {**known, **options}


def _summary(log, name, m, out, written):
    parts = [f"test_accuracy {m['test_accuracy']:.4f}" if "test_accuracy" in m else None,
             f"test_loss {m['test_loss']:.4f}" if "test_loss" in m else None,
             f"val_accuracy {m['val_accuracy']:.4f}" if "val_accuracy" in m else None]
    timing = f"{m['epochs']} epochs"
    if m["seconds_per_epoch"] is not None:
        timing += f", {m['seconds_per_epoch']:.2f} s/epoch"
    timing += f", {m['seconds']:.1f} s total"
    log(f"{name}: " + "  ".join(p for p in parts if p) + f"  ({timing})")
    log(f"wrote {', '.join(os.path.join(out, w) for w in written)}")


def evaluate(checkpoint, *, data=None, batch_size=None, device=None, verbose=0):
    """Rebuild the model a checkpoint was trained with (recipe + model config stored in it), load its
    weights and evaluate it on the recipe's test set. Returns {'test_loss': ..., 'test_accuracy': ...}."""
    from ..train import read_checkpoint
    from ..utils.data import DataLoader

    _check_device(device)
    ckpt = read_checkpoint(checkpoint)
    extra = ckpt.get("extra") or {}
    if "recipe" not in extra:
        raise ValueError(f"{checkpoint} holds no recipe name (it was not written by `axonal train`); "
                         "load it in Python with axonal.train.load_checkpoint instead")
    rec = get_recipe(extra["recipe"])
    model = rec.build_model(extra.get("model_config") or rec.model_config())
    model.load_state_dict(ckpt["model"])
    test_ds = rec.test_dataset(data)
    if smoke_mode():
        test_ds = _smaller(test_ds, _SMOKE_EVAL)
    loader = DataLoader(test_ds, batch_size=_positive("batch_size", batch_size) or rec.eval_batch_size)
    trainer = rec.make_trainer(model, None, rec.loss_fn(), metrics=rec.metrics, device=device)
    result = {f"test_{k}": v for k, v in trainer.evaluate(loader, verbose=verbose).items()}
    result.update({"recipe": extra["recipe"], "epochs": int(ckpt.get("epoch", 0)),
                   "test_samples": len(test_ds)})
    return result
