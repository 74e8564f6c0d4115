"""The Playground's web server: the page, one WebSocket per browser tab, and the export downloads.

Starlette app served by uvicorn. Each WebSocket connection owns one `Session` (so tabs are
independent) and two coroutines: a reader that validates and applies control messages, and a
player that, while playing, trains one epoch and sends one frame. Training runs in a worker thread
so the event loop keeps serving the other tabs; a per-session lock keeps the reader and the player
from touching the session at once.

Flow control: the page acks every frame it has drawn, and the player keeps at most `WINDOW` frames
unacknowledged, so training runs at the speed the page draws (one epoch per frame, as in the
Playground) and a slow tab never queues up stale frames.

Nothing a client sends can stop the server: malformed JSON, unknown types, bad settings, binary
frames and floods are answered with `{"type": "error", "message": ...}`, and the session goes on.
"""
import asyncio
import json
import logging
import secrets
import time
from pathlib import Path
from urllib.parse import urlsplit

try:
    from starlette.applications import Starlette
    from starlette.responses import FileResponse, JSONResponse, Response
    from starlette.routing import Mount, Route, WebSocketRoute
    from starlette.staticfiles import StaticFiles
    from starlette.websockets import WebSocketDisconnect
except ImportError as e:  # the web stack is an optional extra
    raise ImportError("the playground needs its web stack: pip install 'axonal[playground]' "
                      f"({e})") from None

from . import export
from .config import ConfigError
from .session import Session

STATIC = Path(__file__).with_name("static")
WINDOW = 2                    # frames in flight before the player waits for an ack
MAX_SESSIONS = 32
MAX_MESSAGE = 1 << 20         # bytes; a 5000-point CSV is about 100 kB
RATE, BURST = 120.0, 240.0    # messages per second sustained, and the bucket size
QUEUE = 32                    # control messages waiting; more are dropped (with a note)
log = logging.getLogger("axonal.playground")


class TokenBucket:
    """`RATE` messages a second with bursts of `BURST`: a flooding tab is answered, not obeyed."""

    def __init__(self, rate=RATE, burst=BURST):
        self.rate, self.burst, self.tokens, self.last = rate, burst, burst, time.monotonic()

    def take(self):
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class Connection:
    def __init__(self, ws, sid):
        self.ws, self.sid = ws, sid
        self.session = None
        self.lock = asyncio.Lock()        # one user of the session at a time
        self.send_lock = asyncio.Lock()   # one writer on the socket at a time
        self.wake = asyncio.Event()
        self.in_flight = 0
        self.bucket = TokenBucket()
        self.queue = asyncio.Queue(maxsize=QUEUE)  # control messages waiting to be applied
        self.dropped, self.last_drop_note = 0, 0.0

    async def send(self, msg):
        text = msg if isinstance(msg, str) else json.dumps(msg, allow_nan=False)
        async with self.send_lock:
            await self.ws.send_text(text)

    async def error(self, message):
        await self.send({"type": "error", "message": message})

    async def run(self):
        self.session = await asyncio.to_thread(Session)
        await self.send(self.session.hello(self.sid))
        await self.send(self.session.setup())
        await self.send(await asyncio.to_thread(self._frame_text))
        tasks = [asyncio.create_task(self._play()), asyncio.create_task(self._work())]
        try:
            await self._read()
        finally:
            for task in tasks:
                task.cancel()

    def _frame_text(self):
        return json.dumps(self.session.frame(), allow_nan=False)

    def _epoch_text(self):
        self.session.train_epoch()
        return self._frame_text()

    async def _play(self):
        while True:
            if not (self.session.playing and self.in_flight < WINDOW):
                self.wake.clear()
                await self.wake.wait()
                continue
            async with self.lock:  # sending under the lock keeps frames and setups in order
                if not self.session.playing:
                    continue
                try:
                    text = await asyncio.to_thread(self._epoch_text)
                except Exception as e:
                    log.exception("training failed")
                    self.session.playing = False
                    await self.error(f"training stopped: {type(e).__name__}: {e}")
                    continue
                self.in_flight += 1
                await self.send(text)

    async def _read(self):
        """Take messages off the socket as fast as they come: acks at once, the rest into a short
        queue for `_work`. Reading never waits for the work, so a flood is seen (and dropped) as it
        arrives instead of piling up in the socket while expensive messages are applied."""
        while True:
            msg = await self.ws.receive()
            if msg["type"] == "websocket.disconnect":
                return
            if not self.bucket.take():
                await self._note_drop()
                continue
            text = msg.get("text")
            if text is None:
                await self.error("binary messages are not supported; send JSON text")
                continue
            if len(text) > MAX_MESSAGE:
                await self.error(f"message too large ({len(text)} bytes; at most {MAX_MESSAGE})")
                continue
            try:
                data = json.loads(text)
            except (ValueError, RecursionError) as e:
                await self.error(f"malformed JSON: {e}")
                continue
            if isinstance(data, dict) and data.get("type") == "ack":
                self.in_flight = max(0, self.in_flight - 1)
                self.wake.set()
            elif self.queue.full():
                await self._note_drop()
            else:
                self.queue.put_nowait(data)

    async def _work(self):
        while True:
            await self._apply(await self.queue.get())

    async def _note_drop(self):
        # one note a second, however many were dropped, so a flood is not doubled by our replies
        self.dropped += 1
        now = time.monotonic()
        if now - self.last_drop_note >= 1.0:
            self.last_drop_note = now
            await self.error(f"too many messages: {self.dropped} dropped (at most {RATE:g}/s, "
                             f"{QUEUE} waiting)")
            self.dropped = 0

    async def _apply(self, data):
        async with self.lock:
            try:
                replies, want_frame = await asyncio.to_thread(self.session.handle, data)
                frame = await asyncio.to_thread(self._frame_text) if want_frame else None
            except ConfigError as e:
                await self.error(str(e))
                return
            except Exception as e:
                log.exception("message failed: %.200r", data)
                await self.error(f"internal error: {type(e).__name__}: {e}")
                return
            for reply in replies:
                await self.send(reply)
            if frame is not None:
                await self.send(frame)
        self.wake.set()


def create_app():
    """The Starlette application (one per server; sessions live as long as their socket)."""
    connections = {}

    async def index(request):
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def health(request):
        return JSONResponse({"ok": True, "sessions": len(connections)})

    async def socket(ws):
        await ws.accept()
        origin = ws.headers.get("origin")
        if origin and urlsplit(origin).netloc != ws.headers.get("host"):
            # browsers let any web page open a socket to localhost; only our own page may
            await ws.send_text(json.dumps({"type": "error", "message":
                               f"cross-origin connection from {origin} refused"}))
            await ws.close(code=1008)
            return
        if len(connections) >= MAX_SESSIONS:
            await ws.send_text(json.dumps({"type": "error", "message":
                               f"too many open sessions (at most {MAX_SESSIONS}); close a tab"}))
            await ws.close(code=1013)
            return
        sid = secrets.token_urlsafe(16)  # also the export URL's key, so tabs can't read each other
        conn = connections[sid] = Connection(ws, sid)
        try:
            await conn.run()
        except WebSocketDisconnect:
            pass
        finally:
            connections.pop(sid, None)

    async def download(request):
        conn = connections.get(request.path_params["sid"])
        if conn is None:
            return JSONResponse({"error": "no such session (reload the page)"}, status_code=404)
        what = request.path_params["file"]
        makers = {"zip": (export.bundle, "application/zip", "axonal-playground.zip"),
                  "script": (export.script, "text/x-python", export.SCRIPT_NAME),
                  "weights": (export.weights, "application/octet-stream", export.WEIGHTS_NAME)}
        if what not in makers:
            return JSONResponse({"error": f"unknown export {what!r}"}, status_code=404)
        make, media, name = makers[what]
        async with conn.lock:
            body = await asyncio.to_thread(make, conn.session)
        return Response(body, media_type=media,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    app = Starlette(routes=[
        Route("/", index), Route("/healthz", health),
        Route("/export/{sid}/{file}", download),
        WebSocketRoute("/ws", socket),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ])
    app.state.connections = connections
    return app
