"""Training curves: `plot_history(history, path)` writes loss and metric curves to a PNG.

Layer 7. matplotlib (a dependency of axonal) is imported only here and only when called, so that
`import axonal` stays light. The figure is drawn with the Agg canvas directly (no pyplot), so calling this from a
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
        from matplotlib.ticker import MaxNLocator
    except ImportError as e:
        raise ImportError("plot_history needs matplotlib (a dependency of axonal): "
                          "pip install matplotlib") from e
    hist, panels = _panels(history)
    if not panels:
        raise ValueError("plot_history: the history is empty (no epochs recorded)")
    epochs = list(getattr(history, "epoch", range(len(next(iter(hist.values()))))))
    xs = [e + 1 for e in epochs]
    fig = Figure(figsize=(4.2 * len(panels), 3.4), dpi=dpi)
    FigureCanvasAgg(fig)
    few = len(xs) <= 3  # a short run: big markers, values written beside them, no lone dots
    for i, (name, curves) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        for label, key in curves:
            line, = ax.plot(xs, hist[key], marker="o", markersize=7 if few else 3, linewidth=1.5,
                            label=label)
            if few:
                for x, v in zip(xs, hist[key]):
                    ax.annotate(f"{v:.4g}", (x, v), textcoords="offset points", xytext=(6, 4),
                                fontsize=8, color=line.get_color())
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if few:  # one tick per epoch, and room around the points for their values
            ax.set_xticks(xs)
            ax.set_xlim(min(xs) - 0.5, max(xs) + 0.5)
            ax.margins(y=0.35)
        values = [v for k in curves for v in hist[k[1]] if not math.isnan(v)]
        if name in ("loss", "learning rate") and values and min(values) > 0 \
                and max(values) / min(values) > 10:  # log only when it spans a decade or more
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
