"""Train the band-split SE model: ``python -m se.train --config conf/se/NAME.yaml --out DIR``.

The YAML holds a :class:`TrainConfig` (sections ``data`` and ``model`` nested); an unknown
key or an out-of-range value is refused in one line before anything is written. Training
uses AdamW, the multi-resolution STFT loss plus an SI-SDR term (:mod:`se.losses`), gradient
clipping, and batches that each hold one sampling rate. Every ``validate_every`` steps the
main process scores the validation set (PESQ, ESTOI, DNSMOS OVRL when ``dnsmos: true``),
appends to ``train_log.csv`` and writes ``last.pt`` (newest, for resuming) and ``model.pt``
(best validation PESQ): one-file checkpoints in the :mod:`se.systems.neural` format, so the
app lists ``model.pt`` as a neural system once it is copied into its checkpoints folder.
Running again with the same ``--out`` resumes from ``last.pt`` at the same step, batch order
and weights. Under ``torchrun --nproc_per_node=N`` each process trains on its share of the
batches (DistributedDataParallel; gloo on CPU, NCCL on GPUs).

Data interface: any map-style dataset whose item ``i`` is ``(noisy, clean, sample_rate)``
(float32 tensors of shape (frames,), equal lengths within one rate) and that has
``item_sample_rates`` (the rate of every item, so batches can be grouped without reading
audio) and optionally ``set_epoch(epoch)`` (dynamic mixing: a new mixture per epoch,
reproducible from the seed) can be passed to :func:`train` as ``dataset`` / ``val_dataset``.
:class:`SyntheticPairs` is the built-in fallback (harmonic speech-like signals through
:func:`audio.degrade.simulate`); :func:`make_datasets` is the one place to plug in the
simulated URGENT data (``data.kind``).
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import yaml
from tqdm import tqdm

from audio.degrade import DegradationConfig, simulate
from se.losses import enhancement_loss
from se.models import MODEL_NAME, MODELS, URGENT_SAMPLE_RATES, BandSplitConfig, BandSplitNet

#: Bumped whenever the checkpoint layout or the model's meaning changes.
FORMAT_VERSION = 1
MODEL_FILE = "model.pt"
LAST_FILE = "last.pt"
LOG_FILE = "train_log.csv"
LOG_COLUMNS = ("step", "epoch", "loss", "mrstft", "si_sdr", "val_pesq", "val_estoi",
               "val_dnsmos_ovrl", "elapsed_seconds")
#: ``simulation``: URGENT-style mixtures of :mod:`se.simulation` (espeak-ng speech or corpus
#: lists, generated or recorded noise, rooms, codecs ...) from ``data.simulation``'s YAML;
#: ``synthetic``: harmonic stand-ins for speech, no espeak-ng needed (tests, smoke runs).
DATA_KINDS = ("simulation", "synthetic")
#: ``constant`` keeps ``lr``; ``cosine`` decays it to 5 % of ``lr`` at ``max_steps``. Both
#: ramp up linearly over ``warmup_steps``.
LR_SCHEDULES = ("constant", "cosine")


class ConfigError(ValueError):
    """A training config is unusable; the message is one line for the user."""


class CheckpointError(ValueError):
    """A checkpoint cannot be resumed; the message says why."""


@dataclass
class DataConfig:
    """Where training pairs come from (``kind``) and their shape."""

    kind: str = "synthetic"
    simulation: str = ""
    train_items: int = 256
    val_items: int = 8
    seconds: float = 2.0
    val_seconds: float = 4.0
    sample_rates: list[int] = field(default_factory=lambda: list(URGENT_SAMPLE_RATES))
    snr_db: list[float] = field(default_factory=lambda: [-5.0, 20.0])
    #: Share of pairs with added noise (URGENT: 1.0). Below 1 the model also sees nearly
    #: clean input (only a codec, only band-limited ...) and learns to leave it alone.
    noise_probability: float = 1.0
    extra_distortions: bool = True
    #: Processes that simulate batches ahead of the training step (0: in the training
    #: process). Mixtures are seeded by (seed, epoch, index), so the batches are the same.
    workers: int = 0


@dataclass
class TrainConfig:
    """Training settings; stored in every checkpoint."""

    seed: int = 0
    max_steps: int = 1000
    batch_size: int = 8
    lr: float = 1e-3
    lr_schedule: str = "constant"
    warmup_steps: int = 0
    weight_decay: float = 0.01
    grad_clip: float = 5.0
    stft_weight: float = 1.0
    si_sdr_weight: float = 0.01
    #: Dynamic range (dB) of the loss's log-magnitude term below each target item's peak
    #: bin; 0 keeps only the fixed -80 dB floor (the demo model's first stages).
    log_range_db: float = 0.0
    validate_every: int = 200
    dnsmos: bool = False
    #: Stop after this much training time (seconds, counted across resumes) even before
    #: ``max_steps``, validating and saving as at the last step; 0: no limit. For a lent
    #: machine with a fixed time (the GPU recipe, :mod:`se.gpu_recipe`).
    max_seconds: float = 0.0
    #: A checkpoint (of the same model arguments) whose weights start a fresh run: a second
    #: stage on other data. Ignored when ``--out`` already holds ``last.pt`` to resume.
    init_from: str = ""
    data: DataConfig = field(default_factory=DataConfig)
    model: dict[str, Any] = field(default_factory=dict)

    def check(self) -> None:
        """Raises ConfigError naming the first out-of-range value."""
        d = self.data
        rules: list[tuple[bool, str]] = [
            (self.max_steps >= 1, "max_steps must be at least 1"),
            (1 <= self.batch_size <= 4096, "batch_size must be within 1..4096"),
            (0 < self.lr <= 1.0, "lr must be within (0, 1]"),
            (self.lr_schedule in LR_SCHEDULES,
             f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}"),
            (0 <= self.warmup_steps < self.max_steps, "warmup_steps must be within 0..max_steps-1"),
            (0 <= self.weight_decay <= 1.0, "weight_decay must be within 0..1"),
            (self.grad_clip >= 0, "grad_clip must be >= 0 (0 turns clipping off)"),
            (self.stft_weight >= 0 and self.si_sdr_weight >= 0, "loss weights must be >= 0"),
            (self.log_range_db == 0 or 20 <= self.log_range_db <= 120,
             "log_range_db must be 0 (off) or within 20..120 dB"),
            (self.validate_every >= 1, "validate_every must be at least 1"),
            (self.max_seconds >= 0, "max_seconds must be >= 0 (0: no limit)"),
            (d.kind in DATA_KINDS, f"data.kind must be one of {', '.join(DATA_KINDS)}"),
            (d.kind != "simulation" or bool(d.simulation),
             "data.simulation must name a simulation YAML when data.kind is simulation"),
            (d.train_items >= 1, "data.train_items must be at least 1"),
            (d.val_items >= 0, "data.val_items must be >= 0"),
            (0.1 <= d.seconds <= 60 and 0.5 <= d.val_seconds <= 60,
             "data.seconds must be within 0.1..60 and data.val_seconds within 0.5..60"),
            (bool(d.sample_rates) and all(r in URGENT_SAMPLE_RATES for r in d.sample_rates),
             f"data.sample_rates must be among {list(URGENT_SAMPLE_RATES)}"),
            (len(d.snr_db) == 2 and -30 <= d.snr_db[0] <= d.snr_db[1] <= 60,
             "data.snr_db must be [low, high] within -30..60 dB"),
            (0 <= d.noise_probability <= 1, "data.noise_probability must be within 0..1"),
            (0 <= d.workers <= 64, "data.workers must be within 0..64"),
        ]
        for ok, message in rules:
            if not ok:
                raise ConfigError(f"config: {message}")
        try:
            model = BandSplitConfig.from_dict(dict(self.model))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"config: {exc}") from exc
        if self.init_from and not Path(self.init_from).is_file():
            raise ConfigError(f"config: init_from {self.init_from} is not a file")
        missing = sorted(set(d.sample_rates) - set(model.sample_rates))
        if missing:
            raise ConfigError(f"config: data.sample_rates {missing} are not among "
                              "model.sample_rates")

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """Strict: unknown keys and wrong types are ConfigErrors."""
        if not isinstance(values, dict):
            raise ConfigError("config: expected a mapping of settings")
        values = dict(values)
        _unknown(values, cls, "")
        data = values.pop("data", None) or {}
        if not isinstance(data, dict):
            raise ConfigError("config: data must be a mapping")
        _unknown(data, DataConfig, "data.")
        model = values.pop("model", None) or {}
        if not isinstance(model, dict):
            raise ConfigError("config: model must be a mapping")
        _unknown(model, BandSplitConfig, "model.")
        try:
            cfg = cls(**values, data=DataConfig(**data), model=model)
        except TypeError as exc:
            raise ConfigError(f"config: {exc}") from exc
        _check_types(cfg)
        cfg.check()
        return cfg

    @classmethod
    def from_yaml(cls, path: str | Path) -> TrainConfig:
        try:
            values = yaml.safe_load(Path(path).read_text()) or {}
        except OSError as exc:
            raise ConfigError(f"config: cannot read {path} ({exc.strerror})") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"config: {path} is not valid YAML "
                              f"({str(exc).splitlines()[0]})") from exc
        return cls.from_dict(values)

    def to_dict(self) -> dict:
        return asdict(self)


def _unknown(values: dict, cls: type, prefix: str) -> None:
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"config: unknown key '{prefix}{unknown[0]}' "
                          f"(known: {', '.join(sorted(known))})")


def _check_types(cfg: TrainConfig) -> None:
    for obj, prefix in ((cfg, ""), (cfg.data, "data.")):
        defaults = type(obj)()
        for f in fields(obj):
            value, default = getattr(obj, f.name), getattr(defaults, f.name)
            if isinstance(default, bool):
                ok = isinstance(value, bool)
            elif isinstance(default, int):
                ok = isinstance(value, int) and not isinstance(value, bool)
            elif isinstance(default, float):
                ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            elif isinstance(default, str):
                ok = isinstance(value, str)
            elif isinstance(default, list):
                ok = isinstance(value, list)
            else:
                ok = True
            if not ok:
                raise ConfigError(f"config: {prefix}{f.name} must be "
                                  f"{type(default).__name__}, got {value!r}")


# --------------------------------------------------------------------------- data


def speech_like(seconds: float, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """A voiced, syllable-modulated harmonic signal with gliding pitch and a breathy top:
    a stand-in for clean speech when no corpus is at hand (peak 0.5)."""
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    f0 = rng.uniform(90, 220) * (1 + 0.2 * np.sin(2 * np.pi * rng.uniform(0.3, 1.5) * t
                                                  + rng.uniform(0, np.pi)))
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    tilt = rng.uniform(0.7, 1.3)
    n_harm = int(min(60, sample_rate / 2 / 250))
    x = sum(np.sin(k * phase + rng.uniform(0, np.pi)) / k**tilt for k in range(1, n_harm + 1))
    env = np.clip(np.sin(2 * np.pi * rng.uniform(2.0, 5.0) * t + rng.uniform(0, np.pi)),
                  0, None) ** 2
    x = x * env + 0.05 * env * rng.standard_normal(len(t))
    return (0.5 * x / max(np.max(np.abs(x)), 1e-9)).astype(np.float32)


class SyntheticPairs(torch.utils.data.Dataset):
    """Built-in fallback data: item ``i`` is a fresh (noisy, clean, rate) pair, rebuilt
    from ``(seed, epoch, i)`` so that resuming sees the same pairs (dynamic mixing)."""

    def __init__(self, n_items: int, seconds: float, sample_rates: Sequence[int], *,
                 seed: int, snr_db: Sequence[float] = (-5.0, 20.0),
                 noise_probability: float = 1.0, extra_distortions: bool = True,
                 dynamic: bool = True) -> None:
        self.n_items, self.seconds, self.seed = n_items, seconds, seed
        self.item_sample_rates = [int(sample_rates[i % len(sample_rates)])
                                  for i in range(n_items)]
        self.degradation = DegradationConfig(
            snr_db=(float(snr_db[0]), float(snr_db[1])), noise_probability=noise_probability,
            extra_count_probabilities=(0.25, 0.40, 0.20, 0.15) if extra_distortions
            else (1.0,))
        self.dynamic, self.epoch = dynamic, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch if self.dynamic else 0

    def __len__(self) -> int:
        return self.n_items

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        rate = self.item_sample_rates[index]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        clean = speech_like(self.seconds, rate, rng)
        noisy, target, _ = simulate(clean, rate, rng, self.degradation)
        n = len(clean)
        noisy, target = np.resize(noisy, n), np.resize(target, n)
        return torch.from_numpy(noisy.astype(np.float32)), torch.from_numpy(
            target.astype(np.float32)), rate


class SimulatedPairs(torch.utils.data.Dataset):
    """:class:`se.data.SimulationDataset` behind this module's data interface: fixed-length
    segments, the rate of every item of the current epoch, a new mixture per epoch."""

    def __init__(self, config: Any, n_items: int, seconds: float, *, dynamic: bool = True
                 ) -> None:
        from se.data import SimulationDataset

        self.inner = SimulationDataset(config, n_items, segment_seconds=seconds)
        self.dynamic = dynamic

    @property
    def item_sample_rates(self) -> list[int]:
        return [self.inner.sample_rate(i) for i in range(len(self.inner))]

    def set_epoch(self, epoch: int) -> None:
        self.inner.set_epoch(epoch if self.dynamic else 0)

    def __len__(self) -> int:
        return len(self.inner)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        return self.inner[index]


def simulation_config(cfg: TrainConfig) -> Any:
    """The :class:`se.simulation.SimulationConfig` of ``data.simulation``, its rates and
    SNR range and noise probability replaced by ``data.sample_rates``, ``data.snr_db`` and
    ``data.noise_probability``.

    Raises:
        ConfigError: the YAML is missing or invalid.
    """
    from dataclasses import replace

    from audio.degrade_config import ConfigError as SimulationConfigError
    from se.simulation import SimulationConfig

    d = cfg.data
    try:
        sim = SimulationConfig.from_yaml(d.simulation)
    except (OSError, SimulationConfigError) as exc:
        raise ConfigError(f"config: data.simulation {d.simulation}: {exc}") from exc
    degradation = replace(sim.degradation, snr_db=(float(d.snr_db[0]), float(d.snr_db[1])),
                          noise_probability=float(d.noise_probability))
    if not d.extra_distortions:
        degradation = replace(degradation, extra_count_probabilities=(1.0,))
    return replace(sim, rates=tuple(d.sample_rates), degradation=degradation)


def make_datasets(cfg: TrainConfig) -> tuple[Any, Any]:
    """(train, validation) datasets for ``cfg.data`` (validation None when empty).

    Validation items come from the same distribution with another seed, fixed across
    epochs, so its scores are comparable from one check to the next.
    """
    d = cfg.data
    if d.kind == "simulation":
        from dataclasses import replace

        sim = simulation_config(cfg)
        train_set = SimulatedPairs(replace(sim, seed=sim.seed + cfg.seed), d.train_items,
                                   d.seconds)
        val_set = SimulatedPairs(replace(sim, seed=sim.seed + cfg.seed + 10_000),
                                 d.val_items, d.val_seconds, dynamic=False) \
            if d.val_items else None
        return train_set, val_set
    train_set = SyntheticPairs(d.train_items, d.seconds, d.sample_rates, seed=cfg.seed,
                               snr_db=d.snr_db, noise_probability=d.noise_probability,
                               extra_distortions=d.extra_distortions)
    val_set = None
    if d.val_items:
        val_set = SyntheticPairs(d.val_items, d.val_seconds, d.sample_rates,
                                 seed=cfg.seed + 10_000, snr_db=d.snr_db,
                                 noise_probability=d.noise_probability,
                                 extra_distortions=d.extra_distortions, dynamic=False)
    return train_set, val_set


def rate_batches(item_rates: Sequence[int], batch_size: int, *, seed: int, epoch: int,
                 rank: int = 0, world: int = 1) -> list[list[int]]:
    """This process's batches of one epoch: items shuffled, grouped by rate, cut into
    batches, batches shuffled, then dealt to the ``world`` processes (each gets the same
    number, so DDP steps stay in lockstep; the few left over wait for the next epoch)."""
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(item_rates))
    batches: list[list[int]] = []
    for rate in sorted(set(item_rates)):
        items = [int(i) for i in order if item_rates[i] == rate]
        batches += [items[k:k + batch_size] for k in range(0, len(items), batch_size)]
    batches = [batches[k] for k in rng.permutation(len(batches))]
    per_rank = max(1, len(batches) // world) if len(batches) >= world else 1
    mine = batches[rank::world][:per_rank]
    return mine if mine else [batches[rank % len(batches)]]


def _collate(items: list[tuple[torch.Tensor, torch.Tensor, int]]
             ) -> tuple[torch.Tensor, torch.Tensor, int]:
    rate = items[0][2]
    n = min(len(x) for x, _, _ in items)
    return (torch.stack([x[:n] for x, _, _ in items]), torch.stack([y[:n] for _, y, _ in items]),
            rate)


def batch_stream(dataset: Any, batches: Sequence[list[int]], workers: int
                 ) -> Any:
    """The collated batches in order: made here, or by ``workers`` processes ahead of the
    training step (simulation is most of a step's time on a CPU, and all of it beside a
    GPU)."""
    if workers == 0:
        return (_collate([dataset[i] for i in batch]) for batch in batches)
    return torch.utils.data.DataLoader(dataset, batch_sampler=list(batches),
                                       num_workers=workers, collate_fn=_collate,
                                       prefetch_factor=4,
                                       pin_memory=torch.cuda.is_available())


# --------------------------------------------------------------------------- checkpoints


def software_versions() -> dict[str, str]:
    return {"python": platform.python_version(), "torch": str(torch.__version__),
            "numpy": str(np.__version__), "platform": sys.platform}


def save_checkpoint(checkpoint: dict[str, Any], path: Path) -> None:
    """Write atomically (a temporary file renamed into place)."""
    tmp = path.with_name(path.name + ".partial")
    torch.save(checkpoint, tmp)
    os.replace(tmp, path)


def read_checkpoint(path: Path) -> dict[str, Any]:
    """A training checkpoint of this model and format version.

    Raises:
        CheckpointError: unreadable, another format version or another model.
    """
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc)
        raise CheckpointError(f"{path}: not a readable checkpoint ({reason})") from exc
    if not isinstance(ckpt, dict) or ckpt.get("format_version") != FORMAT_VERSION \
            or ckpt.get("model_name") not in MODELS:
        version = ckpt.get("format_version") if isinstance(ckpt, dict) else None
        name = ckpt.get("model_name") if isinstance(ckpt, dict) else None
        raise CheckpointError(f"{path}: checkpoint of model '{name}' format version {version}, "
                              f"but this code trains '{MODEL_NAME}' version {FORMAT_VERSION}; "
                              "nothing was changed (choose another --out)")
    return ckpt


# --------------------------------------------------------------------------- training


def _uses_corpora(cfg: TrainConfig) -> bool:
    if cfg.data.kind != "simulation":
        return False
    sources = simulation_config(cfg).sources
    return any(x is not None for x in (sources.speech, sources.noise, sources.rir))


def learning_rate(cfg: TrainConfig, step: int) -> float:
    """The learning rate of step ``step`` (0-based): a pure function of the step, so a
    resumed run continues the schedule exactly."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / (cfg.warmup_steps + 1)
    if cfg.lr_schedule == "cosine":
        progress = (step - cfg.warmup_steps) / max(1, cfg.max_steps - cfg.warmup_steps)
        return cfg.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))
    return cfg.lr


def _initial_weights(cfg: TrainConfig, model: BandSplitNet) -> dict[str, torch.Tensor]:
    """The state dict of ``cfg.init_from``, refused unless its model arguments are ours."""
    start = read_checkpoint(Path(cfg.init_from))
    ours, theirs = model.model_args(), asdict(BandSplitConfig.from_dict(dict(start["model_args"])))
    differ = sorted(k for k in ours if ours[k] != theirs[k])
    if differ:
        raise CheckpointError(f"{cfg.init_from}: model arguments differ from the config's "
                              f"({', '.join(differ)}); nothing was changed")
    return start["state_dict"]


def _distributed() -> tuple[int, int, torch.device]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank = dist.get_rank() if dist.is_initialized() else 0
    if torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return rank, world, torch.device("cuda", local)
    return rank, world, torch.device("cpu")


def validate(model: BandSplitNet, dataset: Any, device: torch.device, *, dnsmos: bool = False
             ) -> dict[str, float]:
    """Mean PESQ, ESTOI (and DNSMOS OVRL) over ``dataset``; a failed item counts as NaN."""
    from audio.metrics import dnsmos as dnsmos_metric
    from audio.metrics import estoi, pesq

    scores: dict[str, list[float]] = {"val_pesq": [], "val_estoi": [], "val_dnsmos_ovrl": []}
    model.eval()
    for i in range(len(dataset)):
        noisy, clean, rate = dataset[i]
        with torch.no_grad():
            est = model(noisy[None].to(device), rate)[0].cpu().numpy()
        ref = clean.numpy()
        metrics = [("val_pesq", pesq), ("val_estoi", estoi)]
        for name, fn in metrics:
            try:
                scores[name].append(fn(est, ref, sample_rate=rate))
            except ValueError:
                scores[name].append(math.nan)
        if dnsmos:
            try:
                scores["val_dnsmos_ovrl"].append(dnsmos_metric(est, sample_rate=rate).ovrl)
            except (ValueError, ImportError):
                scores["val_dnsmos_ovrl"].append(math.nan)
    model.train()
    return {k: float(np.nanmean(v)) if v and not np.all(np.isnan(v)) else math.nan
            for k, v in scores.items() if v}


def _out_of_time(cfg: TrainConfig, started: float, device: torch.device) -> bool:
    """Whether ``cfg.max_seconds`` has passed; under DDP the ranks agree (the slowest
    rank's clock decides), so that they stop at the same step."""
    if not cfg.max_seconds:
        return False
    over = time.monotonic() - started >= cfg.max_seconds
    if dist.is_initialized():
        flag = torch.tensor(int(over), device=device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        over = bool(flag.item())
    return over


def train(cfg: TrainConfig, out: str | Path, *, progress: bool = True, dataset: Any = None,
          val_dataset: Any = None) -> dict[str, Any]:
    """Run (or resume) training into ``out``.

    Returns:
        ``{"step", "epoch", "history"}``; history holds one dict per step of this run
        (``step``, ``loss``, ``mrstft``, ``si_sdr``).

    Raises:
        ConfigError: settings out of range.
        CheckpointError: ``out`` holds a checkpoint this version cannot continue.
    """
    cfg.check()
    out = Path(out)
    resume = None
    if (out / LAST_FILE).exists():
        resume = read_checkpoint(out / LAST_FILE)
        saved = resume.get("train_config", {})
        cfg.seed, cfg.model = saved.get("seed", cfg.seed), dict(resume["model_args"])
    if dataset is None:
        dataset, default_val = make_datasets(cfg)
        val_dataset = default_val if val_dataset is None else val_dataset
    rank, world, device = _distributed()
    is_main = rank == 0

    torch.manual_seed(cfg.seed)
    model = BandSplitNet(**asdict(BandSplitConfig.from_dict(dict(cfg.model))))
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    step = epoch = batch_in_epoch = 0
    best = -math.inf
    if resume is None and cfg.init_from:
        model.load_state_dict(_initial_weights(cfg, model))
    elif resume is not None:
        model.load_state_dict(resume["state_dict"])
        optimizer.load_state_dict(resume["optimizer"])
        step, epoch = int(resume["step"]), int(resume["epoch"])
        batch_in_epoch = int(resume["batch_in_epoch"])
        best = float(resume["infos"].get("best_pesq") or -math.inf)
        if resume.get("rng") is not None:
            torch.set_rng_state(resume["rng"])
    net: torch.nn.Module = model
    if world > 1:  # lower rates leave high-band weights unused in a step
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None,
            find_unused_parameters=True)

    log_path = out / LOG_FILE
    if is_main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        if not log_path.exists():
            with log_path.open("w", newline="") as f:
                csv.writer(f).writerow(LOG_COLUMNS)
    infos: dict[str, Any] = {
        "software": software_versions(), "best_pesq": None,
        "training_data": f"{cfg.data.kind}"
                         f"{' (' + cfg.data.simulation + ')' if cfg.data.simulation else ''}: "
                         f"{cfg.data.train_items} items per epoch of {cfg.data.seconds} s at "
                         f"{cfg.data.sample_rates} Hz",
        **({"initialised_from": cfg.init_from} if cfg.init_from else {}),
        "licence": "as the training corpora" if _uses_corpora(cfg)
        else "synthetic signals (espeak-ng speech, generated noise), no licence restrictions"}

    def checkpoint() -> dict[str, Any]:
        infos["best_pesq"] = best if math.isfinite(best) else None
        return {"format_version": FORMAT_VERSION, "model_name": MODEL_NAME,
                "model_args": model.model_args(),
                "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                "optimizer": optimizer.state_dict(), "train_config": cfg.to_dict(),
                "step": step, "epoch": epoch, "batch_in_epoch": batch_in_epoch,
                "rng": torch.get_rng_state(), "infos": dict(infos),
                "elapsed_seconds": time.monotonic() - started}

    history: list[dict[str, float]] = []
    recent: list[dict[str, float]] = []
    # the log's clock runs on across resumes: the time spent before is in the checkpoint
    started = time.monotonic() - (float(resume.get("elapsed_seconds", 0.0)) if resume else 0.0)
    bar = tqdm(total=cfg.max_steps, initial=step, desc="train", unit="step", file=sys.stderr,
               disable=not (progress and is_main) or None)
    net.train()
    last = False
    while step < cfg.max_steps and not last:
        if hasattr(dataset, "set_epoch"):
            dataset.set_epoch(epoch)
        batches = rate_batches(dataset.item_sample_rates, cfg.batch_size, seed=cfg.seed,
                               epoch=epoch, rank=rank, world=world)
        for noisy, clean, rate in batch_stream(dataset, batches[batch_in_epoch:],
                                               cfg.data.workers):
            noisy, clean = noisy.to(device), clean.to(device)
            est = net(noisy, rate)
            loss, parts = enhancement_loss(est, clean, rate, stft_weight=cfg.stft_weight,
                                           si_sdr_weight=cfg.si_sdr_weight,
                                           log_range_db=cfg.log_range_db)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(cfg, step)
            if cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            step += 1
            batch_in_epoch += 1
            row = {"step": step, "loss": float(loss.detach()), **parts}
            history.append(row)
            recent.append(row)
            bar.update(1)
            bar.set_postfix(loss=f"{row['loss']:.3f}", sdr=f"{parts['si_sdr']:.1f}", fs=rate,
                            lr=f"{learning_rate(cfg, step - 1):.1e}")
            last = step >= cfg.max_steps or _out_of_time(cfg, started, device)
            if step % cfg.validate_every == 0 or last:
                if is_main:
                    metrics = validate(model, val_dataset, device, dnsmos=cfg.dnsmos) \
                        if val_dataset is not None and len(val_dataset) else {}
                    pesq_now = metrics.get("val_pesq", math.nan)
                    improved = math.isfinite(pesq_now) and pesq_now > best
                    best = pesq_now if improved else best
                    with log_path.open("a", newline="") as f:
                        values = {"step": step, "epoch": epoch,
                                  "elapsed_seconds": round(time.monotonic() - started, 1),
                                  **{k: float(np.mean([r[k] for r in recent]))
                                     for k in ("loss", "mrstft", "si_sdr")}, **metrics}
                        csv.writer(f).writerow([values.get(c, "") for c in LOG_COLUMNS])
                    recent = []
                    ckpt = checkpoint()
                    save_checkpoint(ckpt, out / LAST_FILE)
                    if improved or not math.isfinite(best) or not (out / MODEL_FILE).exists():
                        save_checkpoint(ckpt, out / MODEL_FILE)
                if world > 1:
                    dist.barrier()
            if last:
                break
        else:
            epoch += 1
            batch_in_epoch = 0
    bar.close()
    if world > 1 and dist.is_initialized():
        dist.destroy_process_group()
    return {"step": step, "epoch": epoch, "history": history}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m se.train",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, help="YAML of TrainConfig settings")
    parser.add_argument("--out", required=True, help="folder to write (or resume)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        cfg = TrainConfig.from_yaml(args.config)
        if (Path(args.out) / LAST_FILE).exists():
            read_checkpoint(Path(args.out) / LAST_FILE)  # refuse before any work
        result = train(cfg, args.out, progress=not args.no_progress)
    except (ConfigError, CheckpointError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"trained to step {result['step']}; checkpoints in {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
