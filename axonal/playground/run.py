"""Starting the Playground server: in the foreground (`axonal playground`) or in a background thread
(tests, benchmarks, notebooks).

uvicorn settings: per-message compression off (frames are ~20 kB of JSON sent to the same machine,
and deflating 30+ of them a second costs more CPU than it saves), and a 2 MiB message cap (a
5000-point CSV fits; anything larger is refused by the socket layer before it reaches us).
"""
import ipaddress
import socket
import threading
import time
import webbrowser

LOOPBACK = "127.0.0.1"


def _config(host, port, log_level):
    import uvicorn

    from .server import create_app

    return uvicorn.Config(create_app(), host=host, port=port, log_level=log_level,
                          ws_per_message_deflate=False, ws_max_size=2 << 20, lifespan="off")


def _warm_up():
    """Train a tiny network once with each optimizer, in the background: the first use of a numba
    kernel loads or compiles it (a second or two), which would otherwise stall a user's first
    epoch."""
    from .session import Session

    for optimizer in ("sgd", "momentum", "adam"):
        # (no dropout: its masks come from axonal's global generator, which tests seed)
        s = Session({"optimizer": optimizer, "activation": "relu", "networkShape": [2],
                     "batchNorm": True})
        s.train_epoch()
        s.frame()


def _start_warm_up():
    threading.Thread(target=_warm_up, name="axonal-playground-warm-up", daemon=True).start()


def _is_loopback(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def serve(host=LOOPBACK, port=8000, open_browser=False, log_level="warning"):
    """Run the Playground until Ctrl-C. Binds to loopback unless told otherwise."""
    import uvicorn

    if port == 0:
        port = _free_port(host)  # so the printed URL has the real port
    elif not _port_free(host, port):
        raise OSError(f"port {port} on {host} is in use; pick another with --port")
    url = f"http://{'localhost' if _is_loopback(host) else host}:{port}/"
    if not _is_loopback(host):
        print(f"axonal playground: warning: listening on {host}, reachable from other machines; "
              "anyone who can reach it can use this machine's CPU")
    print(f"axonal playground: serving on {url}  (Ctrl-C to stop)", flush=True)
    _start_warm_up()
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    try:
        uvicorn.Server(_config(host, port, log_level)).run()
    except KeyboardInterrupt:
        pass  # uvicorn shut down cleanly and re-raised the signal: Ctrl-C is how a server stops
    print("axonal playground: stopped")


def _port_free(host, port):
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _free_port(host):
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class BackgroundServer:
    """A Playground server on a free loopback port, in a daemon thread:

        with BackgroundServer() as srv:
            print(srv.url)          # http://127.0.0.1:PORT/
    """

    def __init__(self, host=LOOPBACK, port=0, log_level="warning"):
        import uvicorn

        self.server = uvicorn.Server(_config(host, port, log_level))
        self.thread = threading.Thread(target=self.server.run, name="axonal-playground", daemon=True)
        self.host, self.port = host, port

    def start(self, timeout=30.0):
        _start_warm_up()
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the playground server did not start")
            time.sleep(0.02)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    @property
    def url(self):
        return f"http://{self.host}:{self.port}/"

    @property
    def ws_url(self):
        return f"ws://{self.host}:{self.port}/ws"

    def stop(self):
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
