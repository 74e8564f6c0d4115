"""Data for a Playground session: the generated sets, the user's own CSV, input features, the grid.

Labels follow the Playground's training rule for each kind of problem:

* two classes: float32 -1/+1, for a tanh output trained with 1/2 (out - y)^2 (the Playground's loss);
* three or more classes (ours): int64 0..K-1, for a softmax output trained with cross-entropy;
* regression: float32 targets, for a linear output trained with 1/2 (out - y)^2.
"""
import re
from dataclasses import dataclass

import numpy as np

from ..datasets import toy
from .config import DOMAIN, GRID, MAX_CLASSES, MAX_CUSTOM_POINTS, ConfigError, active_features


@dataclass
class DataSet:
    points: np.ndarray   # (n, 2) float32, shuffled; the first n_train are the training part
    labels: np.ndarray   # (n,) see the module docstring
    n_train: int
    classes: int         # 0 for regression, else the number of classes (2 = the +-1 labels)

    @property
    def train(self):
        return self.points[:self.n_train], self.labels[:self.n_train]

    @property
    def test(self):
        return self.points[self.n_train:], self.labels[self.n_train:]


@dataclass
class CustomData:
    """Points pasted or uploaded by the user; `labels` are already in the training form."""
    points: np.ndarray
    labels: np.ndarray
    classes: int


def generate(config, custom=None):
    """Build the session's data set from its settings (and the uploaded points for `custom`)."""
    regression = config["problem"] == "regression"
    name = config["regDataset"] if regression else config["dataset"]
    if name == "custom":
        if custom is None:
            raise ConfigError("no custom data loaded yet: paste or upload a CSV of x1,x2,label first")
        if (custom.classes == 0) != regression:
            raise ConfigError("the loaded custom data is for "
                              f"{'regression' if custom.classes == 0 else 'classification'}; "
                              "switch the problem type or load other data")
        rng = np.random.default_rng(config["seed"])
        order = rng.permutation(len(custom.points))  # a fresh train/test cut for every seed
        points, labels, classes = custom.points[order], custom.labels[order], custom.classes
    else:
        noise = config["noise"] / 100.0  # the Playground's slider is 0..50, its generators 0..0.5
        seed = config["seed"]
        if regression:
            points, labels = toy.make_playground(name, noise=noise, seed=seed)
            classes = 0
        elif name == "spiral" and config["classes"] > 2:
            points, labels = toy.make_spiral(toy.N_CLASSIFY, noise=noise, seed=seed,
                                             classes=config["classes"])
            classes = config["classes"]
        else:
            points, labels = toy.make_playground(name, noise=noise, seed=seed, signed=True)
            classes = 2
    # the Playground's split: floor(n * percTrainData / 100) training points, at least one of each
    n_train = min(max(len(points) * config["percTrainData"] // 100, 1), len(points) - 1)
    return DataSet(np.ascontiguousarray(points, np.float32), labels, n_train, classes)


def feature_matrix(points, names):
    """(n, 2) points -> (n, len(names)) float32 input features, columns in the order of `names`."""
    x, y = points[:, 0].astype(np.float32), points[:, 1].astype(np.float32)
    table = {"x": lambda: x, "y": lambda: y, "xSquared": lambda: x * x, "ySquared": lambda: y * y,
             "xTimesY": lambda: x * y, "sinX": lambda: np.sin(x), "sinY": lambda: np.sin(y)}
    return np.ascontiguousarray(np.stack([table[n]() for n in names], axis=1), dtype=np.float32)


def inputs(config, points):
    return feature_matrix(points, active_features(config))


def grid_points(size=GRID):
    """size*size points over [-DOMAIN, DOMAIN]^2, row-major with y decreasing down the rows, so
    row 0 is the top of the picture (cell centres, as the Playground samples its heatmap)."""
    step = 2 * DOMAIN / size
    centres = -DOMAIN + step * (np.arange(size) + 0.5)
    xs, ys = np.meshgrid(centres, centres[::-1])
    return np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32)


_SPLIT = re.compile(r"[,;\t ]+")


def parse_csv(text, problem):
    """The user's CSV: one point per line, `x1,x2,label` (commas, semicolons, tabs or spaces). A
    first line that is not numbers is taken as a header; blank lines and `#` comments are skipped.

    Classification labels are whole numbers: -1/+1 or 0/1 give two classes, 0..K-1 give K
    (K <= MAX_CLASSES). Regression labels are any finite numbers. Raises ConfigError naming the
    offending line."""
    if not isinstance(text, str):
        raise ConfigError("custom data must be CSV text")
    rows = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        cells = [c for c in _SPLIT.split(line) if c]
        try:
            values = [float(c) for c in cells]
        except ValueError:
            if not rows and lineno == _first_content_line(text):
                continue  # header
            raise ConfigError(f"line {lineno}: expected numbers x1,x2,label, got {line[:60]!r}") from None
        if len(values) != 3:
            raise ConfigError(f"line {lineno}: expected 3 values x1,x2,label, got {len(values)}")
        if not all(np.isfinite(values)):
            raise ConfigError(f"line {lineno}: values must be finite numbers")
        rows.append(values)
        if len(rows) > MAX_CUSTOM_POINTS:
            raise ConfigError(f"at most {MAX_CUSTOM_POINTS} points, the CSV has more")
    if len(rows) < 4:
        raise ConfigError(f"need at least 4 points to split into train and test, got {len(rows)}")
    data = np.asarray(rows, dtype=np.float64)
    points = data[:, :2].astype(np.float32)
    raw = data[:, 2]
    if problem == "regression":
        return CustomData(points, raw.astype(np.float32), 0)
    if not np.all(raw == np.round(raw)):
        raise ConfigError("classification labels must be whole numbers (-1/+1 or 0..K-1); "
                          "switch to regression for real-valued targets")
    values = sorted(set(raw.astype(int).tolist()))
    if set(values) <= {-1, 1} or set(values) <= {0, 1}:
        if len(values) < 2:
            raise ConfigError("the custom data holds a single class; need at least two")
        return CustomData(points, np.where(raw > 0, 1.0, -1.0).astype(np.float32), 2)
    if values[0] < 0 or values[-1] >= MAX_CLASSES:
        raise ConfigError(f"class labels must be 0..{MAX_CLASSES - 1} (or -1/+1), got {values}")
    return CustomData(points, raw.astype(np.int64), values[-1] + 1)


def _first_content_line(text):
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.split("#", 1)[0].strip():
            return lineno
    return 0
