"""Training curves: `plot_history(history, path)` writes loss and metric curves to a PNG.

Layer 7. matplotlib is an optional dependency (`pip install axonal[plot]`), imported only here and only
when called. The figure is drawn with the Agg canvas directly (no pyplot), so calling this from a
program that uses an interactive matplotlib backend neither switches its backend nor opens windows.
"""
import math
import os

_SKIP = {"lr", "seconds"}  # not curves worth a panel of their own (lr gets one if it changed)


def _panels(history):
    """[(title, [(label, key)])]: loss first, then each metric with its val_ twin, then lr."""
    hist = history.history if hasattr(history, "history") else dict(history)
    names = [k for k in hist if not k.startswith("val_") and k not in _SKIP]
    names += [k[4:] for k in hist if k.startswith("val_") and k[4:] not in hist]  # val-only keys
    names.sort(key=lambda k: (k != "loss", k))
    panels = []
    for name in names:
        curves = [(lbl, key) for lbl, key in (("train", name), ("validation", "val_" + name))
                  if key in hist]
        panels.append((name, curves))
    lr = hist.get("lr", [])
    if len({v for v in lr if not math.isnan(v)}) > 1:
        panels.append(("learning rate", [("lr", "lr")]))
    return hist, panels


def plot_history(history, path, title=None, dpi=100):
    """Write one panel per quantity (loss, accuracy, ...; train and validation curves together)
    against the 1-based epoch to `path` (PNG). `history` is a History or a {key: [values]} dict."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError("plot_history needs matplotlib: pip install matplotlib "
                          "(or pip install 'axonal[plot]')") from e
    hist, panels = _panels(history)
    if not panels:
        raise ValueError("plot_history: the history is empty (no epochs recorded)")
    epochs = list(getattr(history, "epoch", range(len(next(iter(hist.values()))))))
    xs = [e + 1 for e in epochs]
    fig = Figure(figsize=(4.2 * len(panels), 3.4), dpi=dpi)
    FigureCanvasAgg(fig)
    for i, (name, curves) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        for label, key in curves:
            ax.plot(xs, hist[key], marker="o", markersize=3, label=label)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        if name in ("loss", "learning rate") and all(v > 0 for k in curves for v in hist[k[1]]
                                                      if not math.isnan(v)):
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        if len(curves) > 1:
            ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = os.fspath(path)
    tmp = f"{path}.tmp.png"  # the suffix tells matplotlib the format
    try:
        fig.savefig(tmp, format="png")
        os.replace(tmp, path)  # a reader (an image viewer polling the file) never sees half a PNG
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
