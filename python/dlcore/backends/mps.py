"""``dl.backends.mps``: Apple's Metal backend, which dlcore does not have."""


def is_available() -> bool:
    """False: dlcore has no MPS backend."""
    return False


def is_built() -> bool:
    """False: dlcore is never built with MPS."""
    return False
