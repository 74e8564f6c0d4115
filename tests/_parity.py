"""The parity record: which PyTorch names a test run proved, for tools/api_coverage.py.

A test declares the PyTorch names it proves with a marker,

    @pytest.mark.torch_parity("torch.add", "torch.Tensor.add")

and the op registry (tests/op_specs.py) tags every test it drives with its spec's `names`. With the
environment variable AXONAL_PARITY_JSON set to a path, the run writes there, at its end, every
tagged name with its counts of passed and failed tests, and the list of names it proved: those with
at least one passing tagged test and none failing (an error in setup or teardown is a failure; a
skip or an expected failure proves nothing). Without the variable nothing is written.

What a tag promises (the rule of docs/COMPATIBILITY.md): the test compares the name with PyTorch's
on random inputs, on at least two shapes including broadcasting (for ops of several tensors) and a
non-contiguous input, in float32 and float64, and compares gradients where the name is
differentiable. The registry checks that rule on its cases (tests/ops/test_ops.py,
`test_parity_names_meet_the_rule`); a hand-written tagged test must meet it by construction.

Names are written in full ("torch.nn.functional.relu"); "Tensor.x" is shorthand for
"torch.Tensor.x". The coverage tool rejects a tag that PyTorch does not have (a typo would count
nothing, silently).
"""
import json
import os

ENV = "AXONAL_PARITY_JSON"
MARKER = "torch_parity"


def full_name(name):
    return "torch." + name if name.startswith("Tensor.") else name


class ParityRecorder:
    """A pytest plugin: node id -> names at collection, outcomes per node during the run."""

    def __init__(self, path):
        self.path = path
        self.names = {}     # node id -> tuple of names
        self.failed = set()  # node ids with any failed phase
        self.passed = set()  # node ids whose call phase passed

    def pytest_collection_modifyitems(self, items):
        for item in items:
            names = [full_name(n) for m in item.iter_markers(MARKER) for n in m.args]
            if names:
                self.names[item.nodeid] = tuple(dict.fromkeys(names))

    def pytest_runtest_logreport(self, report):
        if report.nodeid not in self.names:
            return
        if report.failed:
            self.failed.add(report.nodeid)
        elif report.when == "call" and report.passed and not hasattr(report, "wasxfail"):
            self.passed.add(report.nodeid)

    def summary(self):
        counts = {}
        for node, names in self.names.items():
            for n in names:
                c = counts.setdefault(n, {"passed": 0, "failed": 0})
                if node in self.failed:
                    c["failed"] += 1
                elif node in self.passed:
                    c["passed"] += 1
        proved = sorted(n for n, c in counts.items() if c["passed"] and not c["failed"])
        return {"names": dict(sorted(counts.items())), "proved": proved}

    def pytest_sessionfinish(self, session):
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        with open(self.path, "w", encoding="utf-8") as f:
            json.dump(self.summary(), f, indent=1)
            f.write("\n")


def configure(config):
    """Called from tests/conftest.py's pytest_configure: the marker, and the recorder when asked."""
    config.addinivalue_line("markers", f"{MARKER}(*names): the PyTorch names this test proves "
                            "(tests/_parity.py)")
    path = os.environ.get(ENV)
    if path:
        config.pluginmanager.register(ParityRecorder(path), "axonal-parity")
