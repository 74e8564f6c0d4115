"""History: the per-epoch logs of a training run (what Keras' `fit()` returns).

Layer 7. `history.history` maps each log key ('loss', 'accuracy', 'val_loss', 'lr', 'seconds', ...)
to one float per epoch; `history.epoch` lists the 0-based epoch numbers. A key that appears only from
some epoch on (say, validation every other epoch) is padded with NaN so every list lines up with
`epoch`. `state_dict()` / `from_state_dict()` turn it into plain lists of floats for checkpoints.
"""
import math


class History:
    def __init__(self):
        self.epoch = []
        self.history = {}
        self.params = {}

    def append(self, epoch: int, logs: dict) -> None:
        """Record the logs of `epoch` (values converted to float)."""
        n = len(self.epoch)
        self.epoch.append(int(epoch))
        for key, value in logs.items():
            column = self.history.setdefault(key, [math.nan] * n)
            column.append(float(value))
        for key, column in self.history.items():
            if len(column) < n + 1:  # a key missing this epoch
                column.append(math.nan)

    def truncate(self, n_epochs: int) -> None:
        """Keep only the entries of epochs < n_epochs (used when resuming from a checkpoint)."""
        keep = [i for i, e in enumerate(self.epoch) if e < n_epochs]
        self.epoch = [self.epoch[i] for i in keep]
        self.history = {k: [v[i] for i in keep] for k, v in self.history.items()}

    def __len__(self):
        return len(self.epoch)

    def __getitem__(self, key):
        return self.history[key]

    def __contains__(self, key):
        return key in self.history

    def keys(self):
        return self.history.keys()

    def last(self) -> dict:
        """The logs of the most recent epoch ({} when empty)."""
        return {k: v[-1] for k, v in self.history.items()} if self.epoch else {}

    def best(self, key: str, mode: str = "min"):
        """(epoch, value) of the best value of `key` (NaNs ignored)."""
        if key not in self.history:
            raise KeyError(f"History has no {key!r}; it records {sorted(self.history)}")
        pairs = [(e, v) for e, v in zip(self.epoch, self.history[key]) if not math.isnan(v)]
        if not pairs:
            raise ValueError(f"History: {key!r} has no recorded value")
        pick = min if mode == "min" else max
        return pick(pairs, key=lambda p: p[1])

    def state_dict(self) -> dict:
        # NaN survives the checkpoint format as a float; lists are kept as lists of floats
        return {"epoch": list(self.epoch), "history": {k: list(v) for k, v in self.history.items()}}

    def load_state_dict(self, state: dict) -> "History":
        epochs = [int(e) for e in _as_list(state.get("epoch", []))]
        hist = {str(k): [float(x) for x in _as_list(v)] for k, v in dict(state.get("history", {})).items()}
        for k, v in hist.items():
            if len(v) != len(epochs):
                raise ValueError(f"History.load_state_dict: {k!r} has {len(v)} values for "
                                 f"{len(epochs)} epochs")
        self.epoch, self.history = epochs, hist
        return self

    @classmethod
    def from_state_dict(cls, state: dict) -> "History":
        return cls().load_state_dict(state)

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


def _as_list(value):
    """Lists may come back from a checkpoint as arrays or tuples."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return list(value)
