"""One browser tab's Playground: settings, data, network, epoch counter, and the messages it sends.

A `Session` knows nothing of sockets: `handle(message)` takes one decoded control message and returns
the replies (plain dicts ready for JSON), `train_epoch()` runs one pass over the training data, and
`frame()` describes the network as it is now. The server (`server.py`) serializes the calls, so a
session is only ever touched by one thread at a time.
"""
import base64

import numpy as np

from . import data as data_mod
from . import export
from .config import FEATURES, GRID, SCHEMA, ConfigError, active_features, defaults, merge
from .network import Network, encode_signed, thumbnails

MESSAGE_TYPES = ("config", "play", "pause", "step", "reset", "regenerate", "ack", "focus",
                 "setWeight", "customData", "ping")


def _b64(raw):
    return base64.b64encode(raw).decode("ascii")


def _finite(v):
    return float(v) if np.isfinite(v) else None  # JSON cannot carry NaN (a diverged loss)


class Session:
    def __init__(self, config=None):
        self.config = defaults()
        self.custom = None
        self.playing = False
        self.focus = None
        self.grid = data_mod.grid_points()
        if config:
            self.config, _ = merge(self.config, config)
        self._rebuild()

    # -- state changes -----------------------------------------------------------------------------
    def _rebuild(self):
        """New data (from the seed, so the same settings give the same points) and a new network."""
        self.data = data_mod.generate(self.config, self.custom)
        names = active_features(self.config)
        tx, ty = self.data.train
        vx, vy = self.data.test
        self.train_x, self.train_y = data_mod.feature_matrix(tx, names), ty
        self.test_x, self.test_y = data_mod.feature_matrix(vx, names), vy
        self.grid_x = data_mod.feature_matrix(self.grid, names)
        self.net = Network(self.config, len(names), self.data.classes, self.config["seed"])
        self.epoch = 0
        self.rev = getattr(self, "rev", 0) + 1  # frames name the network they describe
        self.grad_norms = [0.0] * len(self.net.linears)
        if self.focus is not None and not self._node_exists(self.focus):
            self.focus = None

    def apply_config(self, changes):
        new, rebuild = merge(self.config, changes)
        if new["batchNorm"] and new["batchSize"] < 2:
            raise ConfigError("batch norm needs a batch size of at least 2")
        old = self.config
        self.config = new
        try:
            if rebuild:
                self._rebuild()
            else:
                self.net.set_live(new)
        except Exception:
            self.config = old  # e.g. switching to custom data before any was loaded
            raise
        return rebuild

    def train_epoch(self):
        self.net.train_epoch(self.train_x, self.train_y)
        self.grad_norms = [float(g) for g in self.net.grad_norms]
        self.epoch += 1

    # -- messages ------------------------------------------------------------------------------------
    def hello(self, session_id):
        return {"type": "hello", "session": session_id, "schema": SCHEMA, "features": list(FEATURES),
                "grid": GRID, "config": self.config}

    def setup(self):
        """Sent after every rebuild: the settings, the points, and the feature nodes' maps."""
        def rows(points, labels):
            lab = labels.astype(np.float64)
            return np.round(np.column_stack([points, lab]), 3).tolist()

        every = data_mod.feature_matrix(self.grid, FEATURES)  # inactive inputs show their map too
        return {"type": "setup", "rev": self.rev, "config": self.config, "classes": self.data.classes,
                "train": rows(*self.data.train), "test": rows(*self.data.test),
                "featureMaps": {n: _b64(encode_signed(thumbnails(every[:, [i]])))
                                for i, n in enumerate(FEATURES)},
                "customLoaded": self.custom is not None}

    def frame(self):
        out, hidden = self.net.maps(self.grid_x)
        frame = {"type": "frame", "rev": self.rev, "epoch": self.epoch,
                 "trainLoss": _finite(self.net.evaluate(self.train_x, self.train_y)),
                 "testLoss": _finite(self.net.evaluate(self.test_x, self.test_y)),
                 "neurons": [[_b64(encode_signed(t)) for t in thumbnails(h)] for h in hidden],
                 "gradNorms": self.grad_norms, "playing": self.playing}
        if self.data.classes > 2:
            frame["outputClasses"] = _b64(out.argmax(axis=1).astype(np.uint8).tobytes())
            frame["output"] = _b64(encode_signed(out.max(axis=1) * 2 - 1))  # confidence
            # one output node per class, its thumbnail the class probability (0 -> -1, 1 -> +1)
            frame["outputNodes"] = [_b64(encode_signed(t)) for t in thumbnails(out * 2 - 1)]
        else:
            frame["output"] = _b64(encode_signed(out[:, 0]))
        frame["weights"], frame["biases"] = self.net.weights()
        if self.focus is not None:
            frame["focus"] = {"node": self.focus, "map": _b64(encode_signed(
                self._node_values(self.focus, out, hidden)))}
        return frame

    def _node_exists(self, node):
        try:
            self._locate(node)
            return True
        except ConfigError:
            return False

    def _locate(self, node):
        """'x'.. (a feature), 'h<layer>_<index>', 'out' (the output; for 3+ classes the winning
        probability) or 'out<k>' (class k) -> ('feature'|'hidden'|'out', i, j)."""
        names = active_features(self.config)
        if node in names:
            return "feature", names.index(node), 0
        if node == "out":
            return "out", -1, 0
        k = node[3:] if isinstance(node, str) and node.startswith("out") else ""
        if self.data.classes > 2 and k.isdigit() and int(k) < self.data.classes:
            return "out", int(node[3:]), 0  # the probability of one class
        if isinstance(node, str) and node.startswith("h") and "_" in node:
            layer, _, index = node[1:].partition("_")
            if layer.isdigit() and index.isdigit():
                layer, index = int(layer), int(index)
                shape = self.config["networkShape"]
                if layer < len(shape) and index < shape[layer]:
                    return "hidden", layer, index
        raise ConfigError(f"no node {node!r} in this network")

    def _node_values(self, node, out, hidden):
        kind, i, j = self._locate(node)
        if kind == "feature":
            return self.grid_x[:, i]
        if kind == "hidden":
            return hidden[i][:, j]
        if self.data.classes <= 2:
            return out[:, 0]
        return (out.max(axis=1) if i < 0 else out[:, i]) * 2 - 1

    def handle(self, msg):
        """Apply one control message; returns (replies, whether a frame should follow). Raises
        ConfigError for anything malformed, leaving the session as it was."""
        if not isinstance(msg, dict):
            raise ConfigError("a message must be a JSON object with a \"type\"")
        kind = msg.get("type")
        if kind not in MESSAGE_TYPES:
            raise ConfigError(f"unknown message type {kind!r}; expected one of {', '.join(MESSAGE_TYPES)}")
        if kind == "config":
            changes, notes = msg.get("config"), []
            if msg.get("lenient") is True:
                changes, notes = self._usable(changes)
            rebuilt = self.apply_config(changes)
            replies = [self.setup() if rebuilt else {"type": "config", "config": self.config}]
            if notes:
                replies.append({"type": "error", "message": "ignored: " + "; ".join(notes)})
            return replies, rebuilt
        if kind in ("play", "pause"):
            self.playing = kind == "play"
            return [{"type": "status", "playing": self.playing}], False
        if kind == "step":
            self.playing = False
            self.train_epoch()
            return [{"type": "status", "playing": False}], True
        if kind == "reset":
            self._rebuild()
            return [self.setup()], True
        if kind == "regenerate":
            seed = msg.get("seed", int(np.random.default_rng().integers(0, 2**31 - 1)))
            self.config, _ = merge(self.config, {"seed": seed})
            self._rebuild()  # also when the seed did not change: regenerate always restarts
            return [self.setup()], True
        if kind == "focus":
            node = msg.get("node")
            if node is not None:
                self._locate(node)
            self.focus = node
            return [], True
        if kind == "setWeight":
            self._set_weight(msg)
            return [], True
        if kind == "customData":
            custom = data_mod.parse_csv(msg.get("csv"), self.config["problem"])
            old = self.custom
            self.custom = custom
            key = "regDataset" if self.config["problem"] == "regression" else "dataset"
            try:
                self.apply_config({key: "custom"})
                self._rebuild()
            except Exception:
                self.custom = old
                raise
            return [self.setup()], True
        if kind == "ping":
            return [{"type": "pong"}], False
        return [], False  # ack: flow control only, handled by the server

    def _usable(self, changes):
        """For settings from a URL (`lenient`): keep those valid on their own, list the others,
        so one bad key in a shared link does not throw away the rest of it."""
        if not isinstance(changes, dict):
            raise ConfigError(f"config must be an object of settings, got {type(changes).__name__}")
        keep, notes = {}, []
        for key, value in changes.items():
            if value == "custom" and self.custom is None:
                notes.append(f"{key}=custom (custom data is not kept in links; load it again)")
                continue
            try:
                merge(self.config, {key: value})
                keep[key] = value
            except ConfigError as e:
                if "at least one input feature" in str(e):
                    keep[key] = value  # only the combination can tell; merge() checks it below
                else:
                    notes.append(str(e))
        return keep, notes

    def _set_weight(self, msg):
        layer, to, frm, value = (msg.get(k) for k in ("layer", "to", "from", "value"))
        lins = self.net.linears
        if not _is_index(layer, len(lins)):
            raise ConfigError(f"layer must be 0..{len(lins) - 1}, got {layer!r}")
        n_out, n_in = lins[layer].weight.shape
        if not _is_index(to, n_out):
            raise ConfigError(f"to must be 0..{n_out - 1}, got {to!r}")
        if frm != "bias" and not _is_index(frm, n_in):
            raise ConfigError(f"from must be 0..{n_in - 1} or \"bias\", got {frm!r}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) \
                or abs(value) > 1e3:
            raise ConfigError(f"a weight must be a finite number within +-1000, got {value!r}")
        self.net.set_weight(layer, to, frm, float(value))

    def export(self):
        """(script text, weights bytes) that rebuild the current network outside the Playground."""
        return export.script(self), export.weights(self)


def _is_index(v, n):
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < n
