"""The Playground's settings: names, defaults, limits, and the validation of every control message.

The setting names are the TensorFlow Playground's URL-hash keys (`src/state.ts`: `networkShape`,
`learningRate`, `percTrainData`, `x`, `xTimesY`, ...) so a shared link reads the same; the extensions
(`optimizer`, `dropout`, `batchNorm`, `classes`) follow the same style. The browser enforces the
same limits, but the server never trusts it: a message is checked here before it touches a session,
and a bad one is answered with a `ConfigError` naming the setting and the allowed range.

`SCHEMA` is sent to the browser in the `hello` message, so the page builds its menus and parses
URLs from the one table below instead of a second copy in JavaScript.
"""
import math

MAX_LAYERS = 10          # the Playground stops at 6; ours goes to 10
MAX_NEURONS = 8          # per hidden layer, as in the Playground
MAX_CLASSES = 6          # spiral arms / custom-data classes; the colour map has six hues
MAX_CUSTOM_POINTS = 5000
GRID = 50                # the output heatmap is GRID x GRID over [-6, 6]^2 (the Playground: 100)
THUMB = 25               # neuron thumbnails: GRID reduced 2x2 (the Playground reduces 100 -> 10)
DOMAIN = 6.0

FEATURES = ("x", "y", "xSquared", "ySquared", "xTimesY", "sinX", "sinY")
FEATURE_LABELS = {"x": "X\u2081", "y": "X\u2082", "xSquared": "X\u2081\u00b2",
                  "ySquared": "X\u2082\u00b2", "xTimesY": "X\u2081X\u2082",
                  "sinX": "sin(X\u2081)", "sinY": "sin(X\u2082)"}
# the Playground's menus; any value inside the range is accepted (a URL may carry 0.05)
LEARNING_RATES = (0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10)
REG_RATES = (0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10)


class ConfigError(ValueError):
    """A control message or setting the server refuses; the text is shown to the user."""


def _choice(default, choices, live=False):
    return {"kind": "choice", "default": default, "choices": list(choices), "live": live}


def _int(default, lo, hi, live=False):
    return {"kind": "int", "default": default, "min": lo, "max": hi, "live": live}


def _float(default, lo, hi, live=False, menu=None):
    spec = {"kind": "float", "default": default, "min": lo, "max": hi, "live": live}
    if menu:
        spec["menu"] = list(menu)
    return spec


def _bool(default, live=False):
    return {"kind": "bool", "default": default, "live": live}


# "live" settings change the running training (like the Playground's learning-rate menu); changing
# any other one rebuilds the network from scratch, as the Playground's reset() does.
SCHEMA = {
    "problem": _choice("classification", ("classification", "regression")),
    "dataset": _choice("circle", ("circle", "xor", "gauss", "spiral", "custom")),
    "regDataset": _choice("reg-plane", ("reg-plane", "reg-gauss", "custom")),
    "classes": _int(2, 2, MAX_CLASSES),
    "noise": _int(0, 0, 50),
    "percTrainData": _int(50, 10, 90),
    "batchSize": _int(10, 1, 64, live=True),
    "seed": _int(0, 0, 2**31 - 1),
    **{name: _bool(name in ("x", "y")) for name in FEATURES},
    "networkShape": {"kind": "shape", "default": [4, 2], "maxLayers": MAX_LAYERS,
                     "maxNeurons": MAX_NEURONS, "live": False},
    "activation": _choice("tanh", ("relu", "tanh", "sigmoid", "linear")),
    "learningRate": _float(0.03, 1e-5, 10.0, live=True, menu=LEARNING_RATES),
    "regularization": _choice("none", ("none", "L1", "L2"), live=True),
    "regularizationRate": _float(0.0, 0.0, 10.0, live=True, menu=REG_RATES),
    "optimizer": _choice("sgd", ("sgd", "momentum", "adam")),
    "dropout": _float(0.0, 0.0, 0.9, menu=(0, 0.1, 0.2, 0.3, 0.5)),
    "batchNorm": _bool(False),
    "initZero": _bool(False),
}


def defaults():
    """A fresh copy of the default settings."""
    return {k: (list(v["default"]) if isinstance(v["default"], list) else v["default"])
            for k, v in SCHEMA.items()}


def _check_value(name, spec, value):
    kind = spec["kind"]
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false, got {value!r}")
        return value
    if kind == "choice":
        if value not in spec["choices"]:
            raise ConfigError(f"unknown {name} {value!r}; choose from {', '.join(spec['choices'])}")
        return value
    if kind == "shape":
        return check_shape(value)
    # numbers: bool is an int in Python but never a number here; JSON gives 3.0 for 3 sometimes
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be finite, got {value!r}")
    if kind == "int":
        if value != int(value):
            raise ConfigError(f"{name} must be a whole number, got {value!r}")
        value = int(value)
    if not spec["min"] <= value <= spec["max"]:
        raise ConfigError(f"{name} must be between {spec['min']} and {spec['max']}, got {value!r}")
    return float(value) if kind == "float" else value


def check_shape(value):
    """`networkShape`: a list of 0..MAX_LAYERS hidden-layer widths, each 1..MAX_NEURONS."""
    if not isinstance(value, list):
        raise ConfigError(f"networkShape must be a list of layer sizes, got {value!r}")
    if len(value) > MAX_LAYERS:
        raise ConfigError(f"at most {MAX_LAYERS} hidden layers, got {len(value)}")
    for n in value:
        if isinstance(n, bool) or not isinstance(n, (int, float)) or n != int(n):
            raise ConfigError(f"networkShape holds whole numbers, got {n!r}")
        if not 1 <= n <= MAX_NEURONS:
            raise ConfigError(f"a hidden layer has 1 to {MAX_NEURONS} neurons, got {n!r}")
    return [int(n) for n in value]


def merge(current, changes):
    """Validate `changes` (a partial settings dict) against SCHEMA and return (new settings, whether
    the network must be rebuilt). `current` is not modified. Raises ConfigError on the first bad
    setting, so a message is applied whole or not at all."""
    if not isinstance(changes, dict):
        raise ConfigError(f"config must be an object of settings, got {type(changes).__name__}")
    new = dict(current)
    rebuild = False
    for name, value in changes.items():
        spec = SCHEMA.get(name)
        if spec is None:
            raise ConfigError(f"unknown setting {name!r}")
        value = _check_value(name, spec, value)
        if value != current.get(name):
            new[name] = value
            rebuild = rebuild or not spec["live"]
    if not any(new[f] for f in FEATURES):
        raise ConfigError("select at least one input feature")
    return new, rebuild


def active_features(config):
    return [f for f in FEATURES if config[f]]


def n_outputs(config, classes):
    """Output units: 1 (tanh for two classes, linear for regression) or one logit per class."""
    return 1 if config["problem"] == "regression" or classes == 2 else classes
