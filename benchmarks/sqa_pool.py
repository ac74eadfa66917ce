"""The clip pool of the SQA learning-curve benchmark: synthetic conditions, some held out.

The pool is made by :func:`sqa.synthetic_data.make_clips` from the pretraining recipe's
speech and degradation ranges with another seed, so its conditions, voices and noise differ
from the pretraining data (the sentences are espeak's same few). Every ``HELD_OUT_EVERY``-th
condition is held out for testing; only held-out clips get DNSMOS scores (the zero-shot
baseline). The pool is cached in its folder beside ``pool.json`` and remade when its
settings change.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from audio.metrics import dnsmos
from sqa.conditions import Condition
from sqa.pretrain_config import PretrainConfig, config_from_dict, read_config
from sqa.synthetic_data import make_clips

RECIPE = Path(__file__).resolve().parents[1] / "conf" / "sqa" / "pretrain.yaml"
POOL_FILE = "pool.json"
#: Conditions whose index is 2 modulo this are held out (the third clean one among them).
HELD_OUT_EVERY = 4
#: Dataset name of the simulated ratings.
VOTE_DATASET = "sim_listeners"


def held_out(name: str) -> bool:
    """Whether a condition (``cNNN_...``) is a test condition."""
    return int(name[1:4]) % HELD_OUT_EVERY == 2


def pool_config(conditions: int, clips: int, utterances: int, seed: int) -> PretrainConfig:
    """The recipe's speech and degradation ranges with the benchmark's sizes and seed."""
    recipe = read_config(RECIPE).to_dict()
    data = {**recipe["data"], "conditions": conditions, "clips_per_condition": clips,
            "clean_conditions": 3}
    return config_from_dict({"seed": seed, "speech": {**recipe["speech"],
                                                      "utterances": utterances},
                             "data": data, "degradation": recipe["degradation"]})


def _score(condition: Condition, degraded: np.ndarray, _: np.ndarray) -> dict[str, float]:
    if not held_out(condition.name):
        return {"dnsmos_ovrl": math.nan, "dnsmos_p808": math.nan}
    scores = dnsmos(degraded, sample_rate=condition.sample_rate)
    return {"dnsmos_ovrl": scores.ovrl, "dnsmos_p808": scores.p808}


def make_pool(cfg: PretrainConfig, folder: Path, *, progress: bool = True
              ) -> list[dict[str, Any]]:
    """Records of every clip (``utterance_id``, absolute ``wav_path``, ``system_id``,
    ``sample_id``, DNSMOS where held out, ``params``), made or read from the cache."""
    settings = cfg.to_dict()
    cache = folder / POOL_FILE
    if cache.is_file():
        saved = json.loads(cache.read_text(encoding="utf-8"))
        if saved["settings"] == json.loads(json.dumps(settings)):
            return saved["records"]
    folder.mkdir(parents=True, exist_ok=True)
    records = make_clips(cfg, folder, _score, progress=progress)
    for record in records:
        record["utterance_id"] = f"{record['system_id']}-{record['sample_id']}"
        record["wav_path"] = str((folder / record["wav_path"]).resolve())
    cache.write_text(json.dumps({"settings": settings, "records": records}),
                     encoding="utf-8")
    return records


def write_mos_labels(votes: Sequence[tuple[str, str, int]], records: dict[str, dict],
                     path: Path) -> Path:
    """An URGENT Track 2 CSV with one row per voted clip: the mean of its votes (training on
    clip MOS keeps an epoch as long for every budget, which this benchmark's CPU needs)."""
    sums: dict[str, list[int]] = {}
    for clip, _, vote in votes:
        sums.setdefault(clip, []).append(vote)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["wav_path", "system_id", "sample_id", "score", "dataset"])
        for clip, values in sums.items():
            r = records[clip]
            writer.writerow([r["wav_path"], r["system_id"], r["sample_id"],
                             f"{np.mean(values):.4f}", VOTE_DATASET])
    return path
