"""Training data of the quality model: label tables into batches of single votes.

Each item is one rating (a single listener's vote, or a row that is already a MOS) with its
utterance's mean opinion score, the listener and dataset indices and the objective metric
targets (NaN where missing). Features come from a :class:`~sqa.features.FeatureCache`, cropped
to a fixed maximum length with an offset drawn from ``(seed, epoch, index)``, so an epoch is
the same batch for batch when training resumes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from sqa.features import FeatureCache, crop_or_pad
from sqa.labels import LabelTable, mean_opinion

SPLITS = ("system", "clip")


@dataclass
class Vocab:
    """Listener and dataset names; index ``i + 1`` is ``names[i]``, 0 is unknown/reference."""

    listeners: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)

    def listener_index(self, name: object) -> int:
        if name is None or (isinstance(name, float) and np.isnan(name)):
            return 0
        return self._lookup("listeners").get(str(name), 0)

    def dataset_index(self, name: object) -> int:
        return self._lookup("datasets").get(str(name), 0)

    def _lookup(self, which: str) -> dict[str, int]:
        names = getattr(self, which)
        return {n: i + 1 for i, n in enumerate(names)}

    def extend(self, table: LabelTable, reference_dataset: str | None = None) -> Vocab:
        """A vocabulary with this one's names first (kept at their indices) and the new
        names of ``table`` after them. The reference dataset (the one given, else the one
        with most ratings) maps to index 0, the zero bias, unless this vocabulary already
        has one."""
        listeners = list(self.listeners)
        for name in sorted({str(n) for n in table["listener_id"] if n is not None}):
            if name not in listeners:
                listeners.append(name)
        datasets = list(self.datasets)
        counts = table["dataset"].astype(str).value_counts()
        if reference_dataset is None:
            reference_dataset = str(counts.index[0]) if len(counts) else ""
        fresh = not self.datasets and not self.listeners
        for name in sorted(counts.index.astype(str)):
            if name in datasets or (fresh and name == reference_dataset):
                continue
            datasets.append(name)
        return Vocab(listeners, datasets)

    def to_dict(self) -> dict:
        return {"listeners": list(self.listeners), "datasets": list(self.datasets)}


def split_labels(table: LabelTable, mode: str = "system", fraction: float = 0.1,
                 seed: int = 0) -> tuple[LabelTable, LabelTable]:
    """(train, validation) tables: ``system`` holds out whole systems (unseen conditions),
    ``clip`` holds out utterances. At least one unit is held out when there are two or more;
    ``fraction`` 0 holds out nothing."""
    if mode not in SPLITS:
        raise ValueError(f"unknown split '{mode}' (use {' or '.join(SPLITS)})")
    column = "system_id" if mode == "system" else "utterance_id"
    units = sorted(table[column].astype(str).unique())
    if fraction <= 0 or len(units) < 2:
        return table, table.iloc[0:0]
    rng = np.random.default_rng(seed)
    count = min(len(units) - 1, max(1, round(fraction * len(units))))
    held = set(rng.permutation(units)[:count].tolist())
    is_val = table[column].astype(str).isin(held)
    return table[~is_val], table[is_val]


def aux_statistics(table: LabelTable, targets: Sequence[str]) -> tuple[list[float],
                                                                       list[float]]:
    """Mean and standard deviation of each metric column (NaN ignored; std 1 if undefined)."""
    means, stds = [], []
    for name in targets:
        values = pd.to_numeric(table[name], errors="coerce").dropna() if name in table else []
        mean = float(np.mean(values)) if len(values) else 0.0
        std = float(np.std(values)) if len(values) > 1 else 1.0
        means.append(mean)
        stds.append(std if std > 1e-6 else 1.0)
    return means, stds


class VoteDataset(Dataset):
    """One item per rating of ``table`` (see the module docstring)."""

    def __init__(self, table: LabelTable, cache: FeatureCache, vocab: Vocab, *,
                 max_frames: int, aux_targets: Sequence[str] = (),
                 aux_mean: Sequence[float] = (), aux_std: Sequence[float] = (),
                 seed: int = 0) -> None:
        mos = mean_opinion(table).set_index("utterance_id")
        self.paths = table["wav_path"].astype(str).tolist()
        self.scores = table["score"].to_numpy(dtype=np.float32)
        self.mos = mos.loc[table["utterance_id"], "mos"].to_numpy(dtype=np.float32)
        # The mean of its system's clip MOS (per dataset): the target of the ranking
        # across systems.
        system_mos = mos.groupby(["dataset", "system_id"])["mos"].transform("mean")
        self.system_mos = system_mos.loc[table["utterance_id"]].to_numpy(dtype=np.float32)
        self.listeners = np.array([vocab.listener_index(n) for n in table["listener_id"]],
                                  dtype=np.int64)
        self.datasets = np.array([vocab.dataset_index(n) for n in table["dataset"]],
                                 dtype=np.int64)
        aux = np.full((len(table), len(aux_targets)), np.nan, dtype=np.float32)
        for k, name in enumerate(aux_targets):
            if name in mos.columns:
                values = mos.loc[table["utterance_id"], name].to_numpy(dtype=np.float32)
                aux[:, k] = (values - aux_mean[k]) / aux_std[k]
        self.aux = aux
        self.cache = cache
        self.max_frames = max_frames
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict[str, object]:
        rng = np.random.default_rng([self.seed, self.epoch, index])
        feats, length = crop_or_pad(self.cache.get(self.paths[index]), self.max_frames, rng)
        return {"feats": torch.from_numpy(np.ascontiguousarray(feats)), "length": length,
                "listener": int(self.listeners[index]), "dataset": int(self.datasets[index]),
                "score": float(self.scores[index]), "mos": float(self.mos[index]),
                "system_mos": float(self.system_mos[index]),
                "aux": torch.from_numpy(self.aux[index])}


def collate(items: list[dict[str, object]]) -> dict[str, torch.Tensor]:
    """Pad features to the longest item; everything else becomes a tensor."""
    longest = max(int(item["length"]) for item in items)
    n_mels = items[0]["feats"].shape[1]
    feats = torch.zeros(len(items), longest, n_mels)
    for i, item in enumerate(items):
        feats[i, : item["length"]] = item["feats"]
    return {
        "feats": feats,
        "lengths": torch.tensor([int(item["length"]) for item in items]),
        "listener": torch.tensor([item["listener"] for item in items], dtype=torch.long),
        "dataset": torch.tensor([item["dataset"] for item in items], dtype=torch.long),
        "score": torch.tensor([item["score"] for item in items], dtype=torch.float32),
        "mos": torch.tensor([item["mos"] for item in items], dtype=torch.float32),
        "system_mos": torch.tensor([item["system_mos"] for item in items],
                                   dtype=torch.float32),
        "aux": torch.stack([item["aux"] for item in items]),
    }
