"""The Playground server and its sessions, without a browser.

Validation: every kind of bad control message (out-of-range sizes, unknown names, a huge batch,
malformed JSON, binary frames, floods) is answered with an error and the session keeps working;
other sessions are served meanwhile. Training semantics (loss falls, L1 kills weights), the frame
flow control, and the exported script reproducing the network's predictions.

The WebSocket tests run a real uvicorn server on 127.0.0.1 with a free port.
"""
import io
import json
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the playground extra is not installed")
pytest.importorskip("uvicorn", reason="the playground extra is not installed")
ws_client = pytest.importorskip("websockets.sync.client", reason="websockets is not installed")
ConnectionClosed = pytest.importorskip("websockets.exceptions").ConnectionClosed

from axonal.playground import ConfigError, Session, export
from axonal.playground import config as cfg
from axonal.playground.data import parse_csv
from axonal.playground.run import BackgroundServer


@pytest.fixture(scope="module")
def server():
    with BackgroundServer() as srv:
        yield srv


class Client:
    """A tab: a WebSocket that reads messages until one of the wanted type arrives."""

    def __init__(self, server):
        self._cm = ws_client.connect(server.ws_url, max_size=None, open_timeout=10)
        self.ws = self._cm.__enter__()  # websockets wants the context-manager form
        self.hello = self.wait("hello")
        self.setup = self.wait("setup")
        self.frame = self.wait("frame")

    def send(self, msg):
        self.ws.send(msg if isinstance(msg, (str, bytes)) else json.dumps(msg))

    def recv(self, timeout=10.0):
        return json.loads(self.ws.recv(timeout=timeout))

    def wait(self, kind, timeout=10.0, ack=True):
        deadline = time.monotonic() + timeout
        while True:
            msg = self.recv(max(0.01, deadline - time.monotonic()))
            if msg["type"] == "frame" and ack:
                self.send({"type": "ack"})
            if msg["type"] == kind:
                return msg

    def error(self, msg):
        self.send(msg)
        return self.wait("error")["message"]

    def alive(self):
        self.send({"type": "ping"})
        return self.wait("pong")["type"] == "pong"

    def close(self):
        self._cm.__exit__(None, None, None)


@pytest.fixture
def client(server):
    c = Client(server)
    yield c
    c.close()


# -- settings validation (no server) ----------------------------------------------------------------
@pytest.mark.parametrize("changes, words", [
    ({"networkShape": [4] * 11}, "at most 10 hidden layers"),
    ({"networkShape": [9]}, "1 to 8 neurons"),
    ({"networkShape": [0]}, "1 to 8 neurons"),
    ({"networkShape": [2.5]}, "whole numbers"),
    ({"networkShape": "4,2"}, "list of layer sizes"),
    ({"activation": "swish"}, "unknown activation 'swish'"),
    ({"batchSize": 100000}, "batchSize must be between 1 and 64"),
    ({"batchSize": 0}, "batchSize must be between 1 and 64"),
    ({"batchSize": True}, "must be a number"),
    ({"learningRate": float("nan")}, "must be finite"),
    ({"learningRate": 100.0}, "learningRate must be between"),
    ({"noise": 55}, "noise must be between 0 and 50"),
    ({"percTrainData": 5}, "percTrainData must be between 10 and 90"),
    ({"classes": 7}, "classes must be between 2 and 6"),
    ({"x": "yes"}, "must be true or false"),
    ({"dataset": "moons"}, "unknown dataset 'moons'"),
    ({"optimizer": "lbfgs"}, "unknown optimizer"),
    ({"colour": "red"}, "unknown setting 'colour'"),
    ({"x": False, "y": False}, "at least one input feature"),
])
def test_bad_settings_are_refused(changes, words):
    with pytest.raises(ConfigError, match=words):
        cfg.merge(cfg.defaults(), changes)


def test_merge_tells_live_from_rebuild():
    new, rebuild = cfg.merge(cfg.defaults(), {"learningRate": 0.1, "batchSize": 5})
    assert (new["learningRate"], new["batchSize"], rebuild) == (0.1, 5, False)
    assert cfg.merge(cfg.defaults(), {"networkShape": [3]})[1] is True
    assert cfg.merge(cfg.defaults(), {"networkShape": [4.0, 2]})[0]["networkShape"] == [4, 2]


def test_csv_parsing_and_errors():
    data = parse_csv("x1,x2,label\n1,2,1\n-1,-2,-1\n3;4;1\n# note\n-3 -4 -1\n", "classification")
    assert data.classes == 2 and data.labels.tolist() == [1, -1, 1, -1]
    three = parse_csv("\n".join(f"{i},{-i},{i % 3}" for i in range(9)), "classification")
    assert three.classes == 3 and three.labels.dtype == np.int64
    reg = parse_csv("0,0,0.5\n1,1,-0.25\n2,2,3\n3,3,1", "regression")
    assert reg.classes == 0 and reg.labels[1] == -0.25
    for text, words in [("1,2\n3,4\n5,6\n7,8", "expected 3 values"), ("1,2,0.5\n" * 4, "whole numbers"),
                        ("1,2,1\n1,2,1\n1,2,1\n1,2,1", "single class"), ("1,2,1\nx,y,z\n", "line 2"),
                        ("1,2,9\n1,2,0\n1,2,1\n1,2,0", "class labels must be"),
                        ("1,2,1\n1,2,-1", "at least 4 points"), ("1,inf,1\n" * 4, "finite")]:
        with pytest.raises(ConfigError, match=words):
            parse_csv(text, "classification")


# -- training semantics -------------------------------------------------------------------------------
def test_training_lowers_the_loss_and_is_seeded():
    a, b = Session({"dataset": "xor", "xTimesY": True}), Session({"dataset": "xor", "xTimesY": True})
    start = a.frame()["testLoss"]
    for _ in range(40):
        a.train_epoch()
        b.train_epoch()
    fa, fb = a.frame(), b.frame()
    assert fa["testLoss"] < 0.5 * start
    assert fa["weights"] == fb["weights"]  # same settings and seed -> same data, init and result


def test_l1_kills_weights_and_l2_shrinks_them():
    s = Session({"dataset": "gauss", "regularization": "L1", "regularizationRate": 0.3})
    for _ in range(20):
        s.train_epoch()
    assert sum(d.sum() for d in s.net.dead) > 0
    assert all(np.all(lin.weight._data[d] == 0) for lin, d in zip(s.net.linears, s.net.dead))
    plain, l2 = Session({"dataset": "gauss"}), Session({"dataset": "gauss", "regularization": "L2",
                                                        "regularizationRate": 0.3})
    for _ in range(20):
        plain.train_epoch()
        l2.train_epoch()
    norm = lambda s: sum(float((lin.weight._data ** 2).sum()) for lin in s.net.linears)
    assert norm(l2) < 0.5 * norm(plain)


def test_frame_layout_for_three_classes_and_regression():
    s = Session({"dataset": "spiral", "classes": 3, "networkShape": [5, 3]})
    f = s.frame()
    assert s.data.classes == 3 and len(f["neurons"]) == 2 and len(f["neurons"][0]) == 5
    assert len(f["outputClasses"]) == len(f["output"]) and [len(w) for w in f["weights"]] == [10, 15, 9]
    r = Session({"problem": "regression", "regDataset": "reg-gauss", "networkShape": []})
    assert r.data.classes == 0 and "outputClasses" not in r.frame() and len(r.data.points) == 1200


# -- the WebSocket ---------------------------------------------------------------------------------
def test_hello_setup_and_frame(client):
    assert set(cfg.SCHEMA) <= set(client.hello["schema"]) and client.hello["grid"] == cfg.GRID
    assert client.setup["config"] == cfg.defaults() and len(client.setup["train"]) == 250
    assert client.frame["epoch"] == 0 and client.frame["rev"] == client.setup["rev"]


@pytest.mark.parametrize("msg, words", [
    ("{not json", "malformed JSON"),
    ("[1, 2, 3]", "JSON object"),
    ('"play"', "JSON object"),
    ({"type": "explode"}, "unknown message type 'explode'"),
    ({"nope": 1}, "unknown message type None"),
    ({"type": "config", "config": {"networkShape": [4] * 12}}, "at most 10 hidden layers"),
    ({"type": "config", "config": {"networkShape": [50]}}, "1 to 8 neurons"),
    ({"type": "config", "config": {"activation": "gelu"}}, "unknown activation"),
    ({"type": "config", "config": {"batchSize": 10**9}}, "batchSize must be between"),
    ({"type": "config", "config": "everything"}, "object of settings"),
    ({"type": "config", "config": {"batchNorm": True, "batchSize": 1}}, "batch size of at least 2"),
    ({"type": "config", "config": {"dataset": "custom"}}, "no custom data loaded"),
    ({"type": "setWeight", "layer": 7, "to": 0, "from": 0, "value": 1}, "layer must be"),
    ({"type": "setWeight", "layer": 0, "to": 0, "from": 99, "value": 1}, "from must be"),
    ({"type": "setWeight", "layer": 0, "to": 0, "from": 0, "value": "big"}, "finite number"),
    ({"type": "focus", "node": "h9_9"}, "no node 'h9_9'"),
    ({"type": "customData", "csv": "1,2\n"}, "expected 3 values"),
    ({"type": "regenerate", "seed": -5}, "seed must be between"),
    (b"\x00\x01binary", "binary messages are not supported"),
    pytest.param("x" * (3 << 19), "message too large", id="large-message"),  # 1.5 MiB
    # over uvicorn's ws_max_size (2 MiB): the socket is closed, the server lives
    pytest.param("x" * (3 << 20), None, id="oversized-message"),
])
def test_bad_messages_get_an_error_not_a_crash(server, msg, words):
    c = Client(server)
    try:
        if words is None:
            # the socket layer refuses it: on a fast machine the server closes while the client is
            # still writing (a reset during send), on a slow one the client sees the close on read
            with pytest.raises((ConnectionClosed, ConnectionError)):
                c.send(msg)
                c.wait("pong", timeout=10)
            c = Client(server)  # ...and the server still accepts new tabs
        else:
            assert words in c.error(msg)
        assert c.alive()
        c.send({"type": "step"})
        assert c.wait("frame")["epoch"] == 1  # and the session still trains
    finally:
        c.close()


def test_settings_apply_and_answer_with_setup(client):
    client.send({"type": "config", "config": {"dataset": "spiral", "networkShape": [8, 8]}})
    setup = client.wait("setup")
    assert setup["config"]["networkShape"] == [8, 8] and setup["rev"] > client.setup["rev"]
    client.send({"type": "config", "config": {"learningRate": 0.3}})
    assert client.wait("config")["config"]["learningRate"] == 0.3  # live: no rebuild
    client.send({"type": "setWeight", "layer": 0, "to": 1, "from": 0, "value": 2.5})
    assert client.wait("frame")["weights"][0][1 * 2 + 0] == 2.5
    client.send({"type": "focus", "node": "h1_7"})
    assert client.wait("frame")["focus"]["node"] == "h1_7"


def test_settings_from_a_link_skip_only_the_bad_keys(client):
    client.send({"type": "config", "lenient": True, "config": {
        "activation": "relu", "networkShape": [4, 20], "dataset": "custom", "noise": 10}})
    setup = client.wait("setup")
    assert (setup["config"]["activation"], setup["config"]["noise"]) == ("relu", 10)
    assert setup["config"]["networkShape"] == [4, 2] and setup["config"]["dataset"] == "circle"
    note = client.wait("error")["message"]
    assert "1 to 8 neurons" in note and "dataset=custom" in note


def test_flow_control_waits_for_acks(client):
    client.send({"type": "play"})
    got = [client.wait("frame", ack=False) for _ in range(2)]
    with pytest.raises(TimeoutError):
        client.wait("frame", timeout=1.0, ack=False)  # two unacknowledged frames: the player waits
    client.send({"type": "ack"})
    nxt = client.wait("frame", ack=False)
    assert nxt["epoch"] == got[-1]["epoch"] + 1
    client.send({"type": "pause"})


def test_flood_is_answered_and_other_sessions_keep_going(server):
    flooder, other = Client(server), Client(server)
    try:
        other.send({"type": "play"})
        start = other.wait("frame")["epoch"]
        for i in range(3000):
            flooder.send({"type": "config", "config": {"seed": i}} if i % 2 else "{broken")
        errors = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any("too many messages" in e for e in errors):
            errors.append(flooder.wait("error", timeout=20)["message"])
        assert any("too many messages" in e for e in errors)
        epochs = [other.wait("frame")["epoch"] for _ in range(5)]
        assert epochs[-1] >= start + 5  # the other tab kept training during the flood
        time.sleep(1.0)
        assert flooder.alive()
    finally:
        flooder.close()
        other.close()


def test_other_web_pages_cannot_connect(server):
    # a page on another site may open a socket to localhost; the server checks the Origin header
    with ws_client.connect(server.ws_url, origin="http://evil.example") as ws:
        assert "cross-origin connection" in json.loads(ws.recv(timeout=10))["message"]
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)
    own = f"http://127.0.0.1:{server.port}"
    with ws_client.connect(server.ws_url, origin=own) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"


def test_sessions_are_independent(server):
    a, b = Client(server), Client(server)
    try:
        a.send({"type": "config", "config": {"activation": "relu", "networkShape": [3]}})
        assert a.wait("setup")["config"]["activation"] == "relu"
        b.send({"type": "step"})
        frame = b.wait("frame")
        assert len(frame["neurons"]) == 2 and frame["epoch"] == 1  # b still has the default [4, 2]
        assert a.hello["session"] != b.hello["session"]
    finally:
        a.close()
        b.close()


# -- export -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("settings", [
    {"dataset": "xor", "xTimesY": True, "sinX": True, "batchNorm": True, "dropout": 0.1},
    {"dataset": "spiral", "classes": 3, "networkShape": [6, 6], "optimizer": "adam"},
    {"problem": "regression", "regDataset": "reg-gauss", "activation": "relu", "ySquared": True},
])
def test_exported_script_reproduces_predictions(tmp_path, settings):
    s = Session(settings)
    for _ in range(5):
        s.train_epoch()
    script, weights = s.export()
    (tmp_path / export.SCRIPT_NAME).write_text(script)
    (tmp_path / export.WEIGHTS_NAME).write_bytes(weights)
    points = np.random.default_rng(0).uniform(-6, 6, (40, 2)).astype(np.float32)
    np.savetxt(tmp_path / "points.csv", points, delimiter=",", fmt="%.6f")
    run = subprocess.run([sys.executable, export.SCRIPT_NAME, "points.csv"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    got = np.loadtxt(io.StringIO(run.stdout), delimiter=",", ndmin=2)[:, 2:]
    from axonal.playground.data import inputs
    want = s.net.predict(inputs(s.config, np.loadtxt(tmp_path / "points.csv", delimiter=",")))
    if s.data.classes > 2:
        want = np.exp(want - want.max(1, keepdims=True))
        want /= want.sum(1, keepdims=True)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    if settings.get("dataset") == "xor":  # once is enough: the script as is, without arguments
        bare = subprocess.run([sys.executable, export.SCRIPT_NAME], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120, check=False)
        assert bare.returncode == 0 and len(bare.stdout.splitlines()) == 25, bare.stderr  # 5 x 5


def test_export_downloads(server, client):
    import urllib.request

    sid = client.hello["session"]
    with urllib.request.urlopen(f"{server.url}export/{sid}/zip", timeout=10) as r:
        names = zipfile.ZipFile(io.BytesIO(r.read())).namelist()
    assert sorted(names) == sorted([export.SCRIPT_NAME, export.WEIGHTS_NAME])
    with urllib.request.urlopen(f"{server.url}export/{sid}/script", timeout=10) as r:
        assert b"nn.Sequential(" in r.read()
    with pytest.raises(urllib.error.HTTPError, match="404"):
        urllib.request.urlopen(f"{server.url}export/not-a-session/zip", timeout=10)


def test_cli_parses_playground():
    from axonal.cli import build_parser

    args = build_parser().parse_args(["playground", "--port", "0"])
    assert (args.command, args.host, args.port, args.open) == ("playground", "127.0.0.1", 0, False)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["playground", "--port", "-3"])


def test_cli_serves_the_page(tmp_path):
    import signal
    import urllib.request

    proc = subprocess.Popen([sys.executable, "-m", "axonal", "playground", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert "serving on http://localhost:" in line, line + proc.stderr.read()
        url = line.split("serving on ")[1].split()[0].replace("localhost", "127.0.0.1")
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    page = r.read().decode()
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read()
                time.sleep(0.2)
        assert "<title>Axonal Playground</title>" in page and 'src="/static/app.js"' in page
        with urllib.request.urlopen(url + "static/app.js", timeout=5) as r:
            assert b"new WebSocket" in r.read()
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C: uvicorn shuts down cleanly
        assert proc.wait(timeout=20) == 0
