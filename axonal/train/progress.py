"""Progress display for `fit()`: a tqdm bar on a terminal, one plain line per epoch otherwise.

Layer 7. Keras' progress bar prints a new line per update when its output is not a terminal, which
floods CI logs and files (keras#12860, #5224). Here the choice is explicit:

    verbose=1  a live tqdm bar for the running epoch (on stderr, redrawn at most ~10 times a second,
               with the running loss and metrics); when the epoch ends the bar is replaced by the
               epoch's line, so the terminal keeps one complete line per epoch (a bar's postfix is
               cut at the terminal width, which would hide the validation numbers)
    verbose=2  exactly one line per epoch on stdout:
               "epoch 3/10  loss 0.1012  accuracy 0.9691  val_loss 0.0873  val_accuracy 0.9742  lr 0.05  4.1s"
    verbose=0  nothing
    "auto"     1 when stderr is a terminal, else 2
"""
import math
import os
import sys

from .callbacks import Callback

_HIDDEN = ("seconds",)  # shown as the trailing "4.1s", not as a key


def is_tty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def resolve_verbose(verbose):
    if verbose == "auto":
        return 1 if is_tty(sys.stderr) else 2
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
    return verbose


def format_value(value) -> str:
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    return f"{value:.4g}" if abs(value) < 1e-3 and value != 0 else f"{value:.4f}"


def format_logs(logs, skip=_HIDDEN) -> str:
    return "  ".join(f"{k} {format_value(v)}" for k, v in logs.items() if k not in skip)


def epoch_line(epoch, epochs, logs) -> str:
    """The one line printed per epoch when output is not a terminal."""
    width = len(str(epochs))
    text = f"epoch {epoch + 1:>{width}}/{epochs}  {format_logs(logs)}"
    if "seconds" in logs:
        secs = float(logs["seconds"])
        text += f"  {secs:.2f}s" if secs < 10 else f"  {secs:.1f}s"
    return text


FALLBACK_COLUMNS, FALLBACK_ROWS = 100, 24


def _bar_options(stream):
    """tqdm options for `stream`. A terminal that reports no size (0x0: a pty nobody sized, some
    CI runners and IDE consoles) or none at all gets a fixed 100-column bar: with a width of 0
    tqdm draws an empty line, and with a height of 0 it hides the bar as "off screen"."""
    opts = {"file": stream, "mininterval": 0.1, "dynamic_ncols": True}
    try:
        size = os.get_terminal_size(stream.fileno())
    except (AttributeError, OSError, ValueError):  # no fileno, not a terminal, closed
        size = None
    if size is None or size.columns == 0 or size.lines == 0:
        opts.update(dynamic_ncols=False, ncols=FALLBACK_COLUMNS, nrows=FALLBACK_ROWS)
    return opts


class ProgressBar(Callback):
    """The callback the Trainer adds to draw the bar or the per-epoch lines. `stream` defaults to sys.stderr for the bar and sys.stdout for the
    lines, looked up at use time so that pytest's capture and redirections see the output."""

    def __init__(self, verbose="auto", stream=None):
        super().__init__()
        self.verbose = resolve_verbose(verbose)
        self.stream = stream
        self._bar = None

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose != 1:
            return
        from tqdm.auto import tqdm  # imported late: tqdm is only needed when a bar is drawn

        epochs = self.params.get("epochs")
        self._bar = tqdm(total=self.params.get("steps"), desc=f"Epoch {epoch + 1}/{epochs}",
                         unit="batch", leave=False, **_bar_options(self.stream or sys.stderr))

    def on_batch_end(self, step, logs=None):
        if self._bar is None:
            return
        self._bar.update(1)
        # set_postfix formats a string every call; refresh=False leaves redrawing to tqdm's timer
        if logs and step % 10 == 0:
            self._bar.set_postfix_str(format_logs(logs), refresh=False)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.verbose == 2:
            out = self.stream or sys.stdout
            print(epoch_line(epoch, self.params.get("epochs"), logs), file=out, flush=True)
        elif self._bar is not None:
            stream = self._bar.fp
            self._bar.close()  # leave=False: the bar's line is cleared ...
            self._bar = None
            print(epoch_line(epoch, self.params.get("epochs"), logs), file=stream, flush=True)

    def on_train_end(self, logs=None):
        if self._bar is not None:  # stopped mid-epoch (TerminateOnNaN, an exception)
            self._bar.close()
            self._bar = None


def eval_bar(loader, verbose, desc="Evaluate"):
    """Wrap an evaluation loader in a transient tqdm bar when verbose == 1, else return it as is."""
    if verbose != 1:
        return loader
    from tqdm.auto import tqdm

    total = len(loader) if hasattr(loader, "__len__") else None
    return tqdm(loader, total=total, desc=desc, unit="batch", leave=False,
                **_bar_options(sys.stderr))
