"""Seeded random number generation.

Every random function in Axonal (rand, randn, dropout masks, initializers, shuffling) draws from an
`axonal.Generator`, by default `axonal.default_generator`. A Generator wraps NumPy's PCG64 bit
generator. Tensors made for a GPU (rand, randn, initializers) are drawn on the CPU and copied, so a
seed gives the same numbers on every device; dropout masks, drawn on every call, come from the
device's own generator seeded by one draw from this one (reproducible, but not the CPU's numbers).
"""
import copy

import numpy as np

_DEFAULT_SEED = 67280421310721  # PyTorch's default initial seed


class Generator:
    def __init__(self, device="cpu"):
        self.device = device
        self._seed = _DEFAULT_SEED
        self.np = np.random.Generator(np.random.PCG64(self._seed))

    def manual_seed(self, seed):
        seed = int(seed)
        if seed < 0:
            raise ValueError(f"manual_seed: seed must be non-negative, got {seed}")
        self._seed = seed
        self.np = np.random.Generator(np.random.PCG64(seed))
        return self

    def seed(self):
        """Re-seed from fresh OS entropy and return the new seed."""
        seed = int(np.random.SeedSequence().entropy % (2**63))
        self.manual_seed(seed)
        return seed

    def initial_seed(self):
        return self._seed

    def get_state(self):
        """A JSON-serializable snapshot of the generator (used by checkpoints)."""
        return {"seed": self._seed, "bit_generator": copy.deepcopy(self.np.bit_generator.state)}

    def set_state(self, state):
        if not isinstance(state, dict) or "bit_generator" not in state:
            raise ValueError("Generator.set_state: expected a dict made by Generator.get_state()")
        self._seed = int(state.get("seed", self._seed))
        bg = np.random.PCG64()
        bg.state = state["bit_generator"]
        self.np = np.random.Generator(bg)

    def __repr__(self):
        return f"<axonal.Generator seed={self._seed}>"


default_generator = Generator()


def manual_seed(seed):
    """Seed the default generator; returns it (like torch.manual_seed)."""
    return default_generator.manual_seed(seed)


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state):
    default_generator.set_state(state)


def np_generator(generator=None) -> np.random.Generator:
    """The NumPy generator behind `generator` (or the default one)."""
    return (generator or default_generator).np
