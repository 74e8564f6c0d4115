"""The Axonal Playground: the TensorFlow Playground, trained live by Axonal.

Layer 9 (a top-level feature, like the CLI). `axonal playground` serves a page where you build a
small network on 2-D data, press play and watch it learn; the server trains it with `axonal.nn` and
`axonal.optim`, one epoch per frame, and streams the heatmaps, weights, losses and gradient norms to
the browser over a WebSocket. Several tabs are independent sessions. See docs/playground.md.

    config.py    settings, limits and validation (the Playground's URL keys)
    data.py      data sets, custom CSV, input features, the heatmap grid
    network.py   the nn.Sequential, its training step, regularization, neuron maps
    session.py   one tab's state and messages
    export.py    the trained network as a Python script + weights
    server.py    the Starlette app (page, WebSocket, downloads)
    run.py       `serve()` and `BackgroundServer`
    static/      the page (HTML, CSS, JavaScript modules; no third-party code, works offline)

The web stack is an optional extra: pip install 'axonal[playground]'.
"""
from .config import ConfigError
from .session import Session


def serve(host="127.0.0.1", port=8000, open_browser=False):
    """Run the Playground server until interrupted (what `axonal playground` calls)."""
    from .run import serve as _serve

    _serve(host=host, port=port, open_browser=open_browser)


__all__ = ["ConfigError", "Session", "serve"]
