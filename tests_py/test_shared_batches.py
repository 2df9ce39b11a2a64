# The DataLoader's shared-memory hand-over (utils/data/shared_batches.py): large tensors arrive with
# their values through reused slots, slots grow with the batch, several large tensors in one reply,
# the pipe for what must not or need not use a slot (small tensors, numpy arrays, bfloat16, no free
# slot), the flags released after an unpicklable reply, and no file left in /dev/shm afterwards.
from __future__ import annotations

import os

import numpy as np
import pytest

import dlcore as dl
from dlcore.utils.data import DataLoader, Dataset, dataloader, shared_batches

pytestmark = pytest.mark.skipif(not shared_batches.shared_memory_usable(), reason="no writable /dev/shm")


def slot_files() -> set[str]:
    return {name for name in os.listdir(shared_batches.SHARED_MEMORY_DIR) if name.startswith("dlcore-batch-slot")}


class Growing(Dataset):
    """Sample i: a float32 image whose side grows with i // 4 (so batches outgrow their slots)."""

    def __len__(self) -> int:
        return 16

    def __getitem__(self, index: int):
        side = 96 + 32 * (index // 4)
        image = dl.from_numpy(np.full((3, side, side), index, dtype=np.float32))
        return image, {"twice": dl.from_numpy(np.full((3, side, side), 2 * index, dtype=np.float32)),
                       "array": np.full((200, 200), index, dtype=np.float64), "bf16": image.to(dl.bfloat16)}


@pytest.fixture()
def tiny_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every test here uses small tensors (fast); the slots take anything of 64 KB and more.
    monkeypatch.setattr(shared_batches, "SHARED_MEMORY_MIN_BYTES", 64 << 10)


def test_large_tensors_arrive_through_reused_slots(tiny_threshold: None, monkeypatch: pytest.MonkeyPatch):
    received = []
    original_tensor = shared_batches.MainSlots.tensor

    def count_tensor(self, *args):
        received.append(args[1])
        return original_tensor(self, *args)

    monkeypatch.setattr(shared_batches.MainSlots, "tensor", count_tensor)
    before = slot_files()
    loader = DataLoader(Growing(), batch_size=4, num_workers=2, persistent_workers=True)
    for _ in range(2):
        for batch, (image, extra) in enumerate(loader):
            expected = np.arange(4 * batch, 4 * batch + 4, dtype=np.float32)
            assert image.shape == (4, 3, 96 + 32 * batch, 96 + 32 * batch)
            np.testing.assert_array_equal(image.numpy()[:, 1, 5, 7], expected)
            np.testing.assert_array_equal(extra["twice"].numpy()[:, 2, -1, -1], 2 * expected)
            np.testing.assert_array_equal(extra["array"].numpy()[:, 3, 3], expected)  # collated to a tensor
            assert extra["bf16"].dtype == dl.bfloat16  # no numpy dtype: the pipe
            np.testing.assert_array_equal(extra["bf16"].float().numpy()[:, 0, 0, 0], expected)
    # A worker has prefetch_factor + 1 = 3 slots and a reply takes three (image, twice, array), so
    # a reply may find fewer free (the rest takes the pipe): at least one tensor of each batch, at
    # most all three, came through a slot, and slot files were reused.
    assert 2 * 4 <= len(received) <= 2 * 4 * 3
    assert len(set(received)) < len(received)
    del loader
    assert slot_files() <= before


def test_small_tensors_stay_on_the_pipe(monkeypatch: pytest.MonkeyPatch):
    calls = []
    monkeypatch.setattr(shared_batches.MainSlots, "tensor", lambda *a: calls.append(a))
    data = dl.utils.data.TensorDataset(dl.randn(32, 3, 8, 8), dl.arange(32))
    batches = list(DataLoader(data, batch_size=8, num_workers=1))
    assert not calls and len(batches) == 4
    np.testing.assert_array_equal(batches[1][0].numpy(), data.tensors[0].numpy()[8:16])


def test_numpy_batches_take_the_pipe(tiny_threshold: None):
    data = [np.full((100, 100), i, dtype=np.float64) for i in range(4)]
    batches = list(DataLoader(data, batch_size=2, num_workers=1, collate_fn=np.stack))
    assert all(isinstance(b, np.ndarray) for b in batches)  # a zero-copy view of a slot would be overwritten
    np.testing.assert_array_equal(batches[1][:, 0, 0], [2, 3])


def test_no_free_slot_means_the_pipe():
    flags = bytearray(2)
    slots = shared_batches.WorkerSlots(flags)
    try:
        array = np.arange(1000, dtype=np.float32)
        first, second = slots.place(array), slots.place(array)
        assert first[0] == 0 and second[0] == 1 and list(flags) == [1, 1]
        assert slots.place(array) is None  # both wait for the main process
        main = shared_batches.MainSlots(flags)
        tensor = main.tensor(first[0], first[1], (1000,), "<f4")
        np.testing.assert_array_equal(tensor.numpy(), array)
        assert list(flags) == [0, 1] and not os.path.exists(first[1])  # mapped: unlinked
        array[:] = -1  # the tensor is a copy: the slot can be rewritten under it
        assert slots.place(array)[0] == 0 and tensor.numpy()[5] == 5
        main.close()
    finally:
        slots.close()
    assert not os.path.exists(second[1])


def test_an_unpicklable_reply_frees_the_slots_it_took(tiny_threshold: None):
    flags = bytearray(3)
    slots = shared_batches.WorkerSlots(flags)
    try:
        with pytest.raises(Exception):
            dataloader._encode((dl.randn(64, 64, 8), lambda: None), slots)
        assert list(flags) == [0, 0, 0]
    finally:
        slots.close()
