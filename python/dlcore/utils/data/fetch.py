"""Fetchers: turn one entry of the index stream into one batch, in the main process or a worker.

A map-style fetch asks the dataset for the whole batch in the cheapest way it offers: dlcore's
collated fast path (``_getitems_collated``, which returns what ``default_collate`` would make of the
samples) when the loader collates with ``default_collate``, else torch's ``__getitems__`` protocol,
else one ``dataset[i]`` per index. An iterable fetch takes the next ``batch_size`` items.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .collate import default_collate


class _MapFetcher:
    def __init__(self, dataset: Any, auto_collation: bool, collate_fn: Callable[[Any], Any]) -> None:
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        # Resolved once per iterator (as torch builds its fetcher once): the fast path, if any.
        self.collated = getattr(dataset, "_getitems_collated", None) if collate_fn is default_collate else None
        self.getitems = getattr(dataset, "__getitems__", None)

    def fetch(self, index: Any) -> Any:
        if not self.auto_collation:
            return self.collate_fn(self.dataset[index])
        if self.collated is not None:
            return self.collated(index)
        indices = index.tolist() if isinstance(index, np.ndarray) else list(index)
        if self.getitems is not None:
            return self.collate_fn(self.getitems(indices))
        return self.collate_fn([self.dataset[i] for i in indices])


class _IterableFetcher:
    def __init__(self, dataset: Any, auto_collation: bool, collate_fn: Callable[[Any], Any], drop_last: bool) -> None:
        self.iterator = iter(dataset)
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.ended = False

    def fetch(self, index: Any) -> Any:
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.iterator))
        batch = []
        for _ in range(len(index)):
            try:
                batch.append(next(self.iterator))
            except StopIteration:
                self.ended = True
                break
        if not batch or (self.ended and self.drop_last):
            self.ended = True
            raise StopIteration
        return self.collate_fn(batch)


def make_fetcher(kind: str, dataset: Any, auto_collation: bool, collate_fn: Callable[[Any], Any],
                 drop_last: bool) -> Any:
    """A fetcher for a "map" or "iterable" dataset."""
    if kind == "iterable":
        return _IterableFetcher(dataset, auto_collation, collate_fn, drop_last)
    return _MapFetcher(dataset, auto_collation, collate_fn)
