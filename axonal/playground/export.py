"""Export: the trained network as a short Python script that rebuilds it with Axonal, plus its
weights in `axonal.save` format.

The script is generated from the same layer list that built the live model (`network.layer_specs`),
so `load_state_dict` matches key for key. It recomputes the input features with Axonal ops, loads
`playground_model.safetensors` from its own folder, and prints predictions: for the points of a CSV
file given on the command line, else for a 5 x 5 grid over [-6, 6]^2, so it can be run as is.
"""
import io
import json
import zipfile

import axonal

from .config import FEATURE_LABELS, active_features

SCRIPT_NAME = "playground_model.py"
WEIGHTS_NAME = "playground_model.safetensors"

# each feature as an Axonal expression of the columns x1, x2 (shape (n, 1))
_FEATURE_CODE = {"x": "x1", "y": "x2", "xSquared": "x1 * x1", "ySquared": "x2 * x2",
                 "xTimesY": "x1 * x2", "sinX": "axonal.sin(x1)", "sinY": "axonal.sin(x2)"}

_TEMPLATE = '''"""A network trained in the Axonal Playground: {summary}.

Rebuilds the network with Axonal, loads {weights} (axonal.save format) from this folder and
prints predictions, for the x1,x2 points of a CSV file given as the first argument, else for a
5 x 5 grid over [-6, 6]^2.  Output: {output_doc}

    python {script} [points.csv]
"""
import pathlib
import sys

import numpy as np

import axonal
import axonal.nn as nn

WEIGHTS = pathlib.Path(__file__).with_name("{weights}")
FEATURES = {features}  # the input features, in column order

model = nn.Sequential(
{layers}
)
model.load_state_dict(axonal.load(WEIGHTS))
model.eval()


def features(points):
    """(n, 2) points x1, x2 -> (n, {n_in}) network inputs."""
    x1, x2 = points[:, 0:1], points[:, 1:2]
    return axonal.cat([{feature_code}], dim=1)


def predict(points):
    """(n, 2) array of points -> NumPy array of {predict_doc}."""
    with axonal.no_grad():
        out = model(features(axonal.tensor(np.asarray(points, dtype=np.float32))))
{post}
    return out.numpy()


def main(argv):
    if len(argv) > 1:
        points = np.loadtxt(argv[1], delimiter=",", ndmin=2, usecols=(0, 1))
    else:
        ticks = np.linspace(-6, 6, 5)
        points = np.array([(a, b) for b in ticks[::-1] for a in ticks])
    for (a, b), row in zip(points, predict(points).reshape(len(points), -1)):
        print(",".join(f"{{v:.6g}}" for v in (a, b, *row)))


if __name__ == "__main__":
    main(sys.argv)
'''


def _layer_code(specs):
    lines = []
    for name, args in specs:
        lines.append(f"    nn.{name}({', '.join(repr(a) for a in args)}),")
    return "\n".join(lines)


def script(session):
    """The Python source of the exported script for the session's current network."""
    cfg, classes = session.config, session.data.classes
    names = active_features(cfg)
    problem = "regression" if classes == 0 else f"{classes}-class classification"
    dataset = cfg["regDataset"] if classes == 0 else cfg["dataset"]
    shape = ", ".join(str(n) for n in cfg["networkShape"]) or "no hidden layers"
    summary = (f"{problem} on {dataset!r}, epoch {session.epoch}, hidden layers [{shape}], "
               f"{cfg['activation']}, inputs {', '.join(FEATURE_LABELS[n] for n in names)}")
    if classes > 2:
        post = "        out = axonal.nn.functional.softmax(out, dim=1)"
        out_doc = "x1,x2 then one probability per class."
        pred_doc = f"(n, {classes}) class probabilities"
    else:
        post = ""
        out_doc = ("x1,x2,output in [-1, 1] (the sign is the class)." if classes == 2
                   else "x1,x2,predicted value.")
        pred_doc = "(n, 1) outputs"
    return _TEMPLATE.format(
        summary=summary, weights=WEIGHTS_NAME, script=SCRIPT_NAME, output_doc=out_doc,
        features=json.dumps(names), layers=_layer_code(session.net.specs), n_in=len(names),
        feature_code=", ".join(_FEATURE_CODE[n] for n in names), predict_doc=pred_doc,
        post=post)


def weights(session):
    """The network's state_dict in axonal.save format, as bytes."""
    buf = io.BytesIO()
    axonal.save(session.net.model.state_dict(), buf)
    return buf.getvalue()


def bundle(session):
    """A zip holding the script and its weights file (one download from the browser)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(SCRIPT_NAME, script(session))
        z.writestr(WEIGHTS_NAME, weights(session))
    return buf.getvalue()
