"""Dynamic mixing: a torch ``Dataset`` that simulates URGENT-style pairs on the fly.

It uses the same config, pools and mixing code as ``python -m se.simulate``, so training on
the fly and training on a written set see the same distribution. Item ``index`` of epoch
``epoch`` is seeded by ``(config.seed, epoch, index)``: the same in every worker and run, new in
every epoch (call :meth:`SimulationDataset.set_epoch`). Its sampling rate is drawn from the
seed alone, so :class:`RateBatchSampler` can group indices into batches of one rate without
making any audio; :func:`collate` pads them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from se.simulation import MixtureRecord, SimulationConfig, build_pools, make_mixture, mixture_seed


class SimulationDataset(Dataset):
    """``length`` mixtures per epoch drawn from ``config`` (``count_per_rate`` is not used).

    Each item is ``(noisy, clean, sample_rate)``: two float32 tensors of shape (frames,) and
    an int. ``segment_seconds`` crops (random offset from the item's seed) or zero-pads both
    to a fixed length, as training usually wants.
    """

    def __init__(self, config: SimulationConfig, length: int, *, epoch: int = 0,
                 segment_seconds: float | None = None) -> None:
        if length < 1:
            raise ValueError(f"length must be positive, got {length}")
        self.config, self.length, self.epoch = config, length, epoch
        self.segment_seconds = segment_seconds
        self.pools = build_pools(config)
        self.last_record: MixtureRecord | None = None

    def __len__(self) -> int:
        return self.length

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def seed(self, index: int) -> int:
        return mixture_seed(self.config.seed, 1, self.epoch, index)

    def sample_rate(self, index: int) -> int:
        """Rate of item ``index`` in the current epoch, without simulating it."""
        rng = np.random.default_rng([self.seed(index), 9])
        return int(self.config.rates[int(rng.integers(len(self.config.rates)))])

    def record(self, index: int) -> MixtureRecord:
        """Simulate item ``index`` and return its record (for logging or rebuilding)."""
        return self.mixture(index)[2]

    def mixture(self, index: int) -> tuple[np.ndarray, np.ndarray, MixtureRecord]:
        if not 0 <= index < self.length:
            raise IndexError(index)
        rate = self.sample_rate(index)
        return make_mixture(self.config, self.pools, f"e{self.epoch}_{index:08d}", rate,
                            self.seed(index))

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        noisy, clean, record = self.mixture(index)
        rate = record.sample_rate
        if self.segment_seconds is not None:
            n = round(self.segment_seconds * rate)
            if len(noisy) > n:
                start = int(np.random.default_rng([record.seed, 10]).integers(len(noisy) - n + 1))
                noisy, clean = noisy[start: start + n], clean[start: start + n]
            else:
                noisy, clean = (np.pad(x, (0, n - len(x))) for x in (noisy, clean))
        return torch.from_numpy(np.ascontiguousarray(noisy)), \
            torch.from_numpy(np.ascontiguousarray(clean)), rate


class RateBatchSampler(Sampler[list[int]]):
    """Batches of indices that share one sampling rate (a model's STFT depends on the rate).

    Indices are grouped by :meth:`SimulationDataset.sample_rate`, shuffled within each rate
    and the batches shuffled across rates, all seeded by ``(seed, epoch)``. Follows the
    dataset's epoch, so call ``dataset.set_epoch`` before iterating.
    """

    def __init__(self, dataset: SimulationDataset, batch_size: int, *, seed: int = 0,
                 drop_last: bool = False) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.dataset, self.batch_size = dataset, batch_size
        self.seed, self.drop_last = seed, drop_last

    def batches(self) -> list[list[int]]:
        rng = np.random.default_rng([self.seed, self.dataset.epoch])
        by_rate: dict[int, list[int]] = {}
        for index in range(len(self.dataset)):
            by_rate.setdefault(self.dataset.sample_rate(index), []).append(index)
        out: list[list[int]] = []
        for rate in sorted(by_rate):
            indices = [by_rate[rate][i] for i in rng.permutation(len(by_rate[rate]))]
            for start in range(0, len(indices), self.batch_size):
                batch = indices[start: start + self.batch_size]
                if len(batch) == self.batch_size or not self.drop_last:
                    out.append(batch)
        return [out[i] for i in rng.permutation(len(out))]

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches())

    def __len__(self) -> int:
        return len(self.batches())


def collate(items: Sequence[tuple[torch.Tensor, torch.Tensor, int]]
            ) -> tuple[torch.Tensor, torch.Tensor, int, torch.Tensor]:
    """Stack one rate's items, zero-padded at the end to the longest.

    Returns:
        (noisy, clean, sample_rate, lengths): (batch, frames) float32 tensors, the shared
        rate, and each item's length before padding (batch,) int64.

    Raises:
        ValueError: the items have different rates (use :class:`RateBatchSampler`).
    """
    rates = {rate for _, _, rate in items}
    if len(rates) != 1:
        raise ValueError(f"a batch must have one sampling rate, got {sorted(rates)}")
    lengths = torch.tensor([len(noisy) for noisy, _, _ in items], dtype=torch.int64)
    longest = int(lengths.max())
    noisy = torch.zeros(len(items), longest)
    clean = torch.zeros(len(items), longest)
    for i, (x, y, _) in enumerate(items):
        noisy[i, : len(x)], clean[i, : len(y)] = x, y
    return noisy, clean, rates.pop(), lengths
