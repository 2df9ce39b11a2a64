"""``dl.Generator``: a CPU random-number generator object for data sampling (torch.Generator's API).

dlcore's engine has one global generator (``dl.manual_seed``) for initialisation and dropout, with
no state exposed to Python. Samplers, ``random_split`` and the DataLoader need generator objects
they can own, seed and pass around, as torch's do; this is that object, backed by numpy's PCG64.
When code is given no generator it seeds a fresh one from dlcore's global generator, so
``dl.manual_seed(s)`` alone makes shuffling, splits and worker seeds reproducible, as
``torch.manual_seed`` does (and, as in torch, doing so consumes draws from the global stream).
"""
from __future__ import annotations

import operator
import os
import struct
from typing import Any

import numpy as np

from . import _C

# torch.Generator's documented default seed, so an unseeded generator reports the same initial_seed.
_DEFAULT_SEED = 67280421310721
# The largest float32 below 1: libstdc++'s float uniform distribution can round up to 1.0 itself.
_BELOW_ONE = float(np.nextafter(np.float32(1), np.float32(0)))
_STATE_MAGIC = b"DLGEN1\x00\x00"
_STATE_LAYOUT = struct.Struct("<8sQ16s16sqQ")  # magic, initial seed, PCG64 state, increment, has_uint32, uinteger


def _as_seed(seed: Any, where: str) -> int:
    """torch's seed rule: an integer in [-2**63, 2**64); negatives wrap to unsigned 64 bits."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        try:
            seed = operator.index(seed)
        except TypeError:
            raise RuntimeError(f"{where} expected a long, but got {type(seed).__name__}") from None
    seed = int(seed)
    if not -(1 << 63) <= seed < (1 << 64):
        raise ValueError(f"{where}: seed {seed} is outside [-2**63, 2**64)")
    return seed % (1 << 64)


class Generator:
    """A CPU pseudo-random generator with torch.Generator's methods: ``manual_seed``, ``seed``,
    ``initial_seed``, ``get_state`` and ``set_state``.

    Pass it as ``generator=`` to samplers, ``random_split`` and ``DataLoader``. The numbers it
    draws are numpy PCG64 streams, not torch's mt19937 ones: a seed reproduces dlcore's results,
    not torch's.
    """

    def __init__(self, device: Any = "cpu") -> None:
        if str(device) != "cpu":
            raise RuntimeError(f"dlcore.Generator: only device='cpu' is supported, got device={device!r}")
        self.manual_seed(_DEFAULT_SEED)

    @property
    def device(self) -> Any:
        return _C.device("cpu")

    def manual_seed(self, seed: int) -> "Generator":
        """Reseeds the generator; returns it, so ``Generator().manual_seed(0)`` reads as in torch."""
        self._initial_seed = _as_seed(seed, "manual_seed")
        self._numpy = np.random.Generator(np.random.PCG64(self._initial_seed))
        return self

    def seed(self) -> int:
        """Reseeds from the operating system's entropy and returns the new seed."""
        new_seed = int.from_bytes(os.urandom(8), "little")
        self.manual_seed(new_seed)
        return new_seed

    def initial_seed(self) -> int:
        """The seed the current stream started from."""
        return self._initial_seed

    def get_state(self) -> Any:
        """The whole state as a uint8 tensor; ``set_state`` of it resumes the very same stream."""
        bits = self._numpy.bit_generator.state
        packed = _STATE_LAYOUT.pack(_STATE_MAGIC, self._initial_seed, bits["state"]["state"].to_bytes(16, "little"),
                                    bits["state"]["inc"].to_bytes(16, "little"), bits["has_uint32"],
                                    bits["uinteger"])
        return _C.from_numpy(np.frombuffer(packed, dtype=np.uint8).copy())

    def set_state(self, new_state: Any) -> "Generator":
        """Restores a state returned by ``get_state``; returns the generator."""
        if not isinstance(new_state, _C.Tensor):
            raise TypeError(f"expected a dlcore uint8 tensor, but got {type(new_state).__name__}")
        if new_state.dtype != _C.dtype.uint8:
            raise TypeError(f"RNG state must be a uint8 tensor, got dtype {new_state.dtype}")
        raw = new_state.cpu().numpy().tobytes()
        if len(raw) != _STATE_LAYOUT.size or not raw.startswith(_STATE_MAGIC):
            raise RuntimeError(f"Expected a dlcore.Generator state of {_STATE_LAYOUT.size} bytes (from get_state), "
                               f"but found {len(raw)} bytes{'' if len(raw) != _STATE_LAYOUT.size else ' with a wrong header'}")
        _, initial_seed, state, inc, has_uint32, uinteger = _STATE_LAYOUT.unpack(raw)
        bit_generator = np.random.PCG64()
        bit_generator.state = {"bit_generator": "PCG64",
                               "state": {"state": int.from_bytes(state, "little"), "inc": int.from_bytes(inc, "little")},
                               "has_uint32": has_uint32, "uinteger": uinteger}
        self._initial_seed = initial_seed
        self._numpy = np.random.Generator(bit_generator)
        return self

    def __repr__(self) -> str:
        return f"<dlcore.Generator initial_seed={self._initial_seed}>"


def _check_generator(generator: Any, where: str) -> Generator | None:
    """None or a dlcore.Generator; anything else (a torch.Generator, say) is refused by name."""
    if generator is None or isinstance(generator, Generator):
        return generator
    raise TypeError(f"{where}: generator must be a dlcore.Generator or None, got {type(generator).__module__}."
                    f"{type(generator).__name__}")


def _draw_seed(generator: Generator | None = None) -> int:
    """A non-negative 63-bit seed: from ``generator``, or from dlcore's global generator (dl.manual_seed).

    The global generator is only reachable through ``rand``: three float32 draws carry 24 random
    bits each, which together fill the 63 bits.
    """
    if generator is not None:
        return int(generator._numpy.integers(0, 1 << 63))
    seed = 0
    for value in _C.rand([3]).tolist():
        seed = (seed << 24) | min(int(value * (1 << 24)), (1 << 24) - 1)
    return seed & ((1 << 63) - 1)


def _numpy_rng(generator: Generator | None) -> np.random.Generator:
    """The numpy stream a sampler draws from: the given generator's, or a fresh one seeded globally."""
    if generator is not None:
        return generator._numpy
    return np.random.Generator(np.random.PCG64(_draw_seed(None)))


def _global_uniform() -> float:
    """One float in [0, 1) from dlcore's global generator (what torch.rand(1) is to transforms)."""
    return min(_C.rand([1]).item(), _BELOW_ONE)


def _global_randint(low: int, high: int) -> int:
    """An integer in [low, high) from dlcore's global generator (torch.randint(low, high, (1,)))."""
    if high <= low:
        raise ValueError(f"randint: empty range [{low}, {high})")
    return low + min(int(_global_uniform() * (high - low)), high - low - 1)


__all__ = ["Generator"]
