"""Train the MOS predictor: ``python -m sqa.train --labels CSV [--labels CSV ...] --out DIR
[--init CHECKPOINT] [--val-split system|clip]``.

Label files (URGENT CSV, BVCC, NISQA; see :mod:`sqa.label_formats`) are validated with their
audio before anything is written. Batches hold single votes: the listener-conditioned head
learns each vote, the mean-listener head the utterance MOS (clipped MSE plus a pairwise
ranking term), a per-dataset bias absorbs corpus scales, and metric columns named by
``--aux`` are extra targets, masked where missing.

The output folder receives ``model.pt`` (best validation utterance LCC; the newest when
there is no validation set), ``last.pt`` (the newest, for resuming), ``model.yaml`` and
``train_log.csv``. Running again with the same ``--out`` resumes from ``last.pt`` at the same
step, batch order and RNG state. A folder holding a checkpoint of another software version
is refused and left as it is. Under ``torchrun`` each process trains on its share of every
epoch (DistributedDataParallel; gloo on CPU, NCCL on GPUs).
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from sqa.checkpoint import (
    LAST_FILE,
    MODEL_FILE,
    CheckpointError,
    build_model,
    make_checkpoint,
    read_checkpoint,
    save_checkpoint,
)
from sqa.data import SPLITS, Vocab, VoteDataset, aux_statistics, collate, split_labels
from sqa.features import FeatureCache
from sqa.head_fit import fit_heads, pooled_vectors
from sqa.label_formats import read_labels
from sqa.labels import LabelError, LabelTable, mean_opinion, validate
from sqa.losses import clipped_mse, masked_mse, pairwise_ranking
from sqa.metrics import EvaluationError, evaluate
from sqa.model import MosPredictor, MosPredictorConfig
from sqa.predict import predict_features

LOG_FILE = "train_log.csv"
LOG_COLUMNS = ("step", "epoch", "train_loss", "utt_MSE", "utt_LCC", "utt_SRCC", "sys_MSE",
               "sys_LCC", "sys_SRCC")

ROOT = Path(__file__).resolve().parents[1]
#: The checkpoint shipped with the code: where training starts unless told otherwise.
SHIPPED_CHECKPOINT = ROOT / "checkpoints" / "sqa" / "pretrained"
#: ``--init`` value naming :data:`SHIPPED_CHECKPOINT`.
PRETRAINED = "pretrained"
#: Fine-tuning a checkpoint by default (chosen on benchmarks/sqa_learning.py's set): the
#: whole network, batches of 16 crops of 1.5 s, 5 epochs but at most 120 steps, every rating
#: trained on and the last weights kept (a validation set of one or two systems picks at
#: random). ``--head-steps`` first fits the heads on the frozen encoder (measured, not
#: better with the shipped encoder).
FINETUNE = {"batch_size": 16, "max_seconds": 1.5, "val_fraction": 0.0, "head_steps": 0}
FINETUNE_EPOCHS, FINETUNE_MAX_STEPS = 5, 120
#: Head-fitting steps when ``--head-steps`` is given without a number of its own.
FINETUNE_HEAD_STEPS = 300

#: ``(step, total_steps, loss)`` after each optimiser step.
StepCallback = Callable[[int, int, float], None]


@dataclass
class TrainConfig:
    """Training settings; stored in every checkpoint."""

    labels: list[str] = field(default_factory=list)
    out: str = ""
    init: str | None = None
    val_split: str = "system"
    val_fraction: float = 0.1
    seed: int = 0
    epochs: int = 30
    max_steps: int | None = None
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    max_seconds: float = 6.0
    tau: float = 0.25
    listener_weight: float = 1.0
    mean_weight: float = 1.0
    rank_weight: float = 0.5
    rank_margin: float = 0.1
    system_rank_weight: float = 0.0
    aux_weight: float = 0.3
    aux: list[str] = field(default_factory=list)
    reference_dataset: str | None = None
    save_every: int = 0
    head_steps: int = 0
    head_lr: float = 3e-3
    model: dict = field(default_factory=dict)


class TrainError(ValueError):
    """Training cannot start; the message says why, for the user."""


def read_all_labels(paths: list[str]) -> LabelTable:
    """Read and validate every label file (audio checked); all problems raised together."""
    tables, errors = [], []
    for path in paths:
        try:
            table = read_labels(path)
            validate(table, check_audio=True)
            tables.append(table)
        except LabelError as exc:
            errors.append(str(exc))
    if errors:
        raise TrainError("\n".join(errors))
    table = pd.concat(tables, ignore_index=True)
    dup = table["utterance_id"].duplicated() & ~table.duplicated(["utterance_id",
                                                                  "wav_path"])
    if dup.any():
        raise TrainError(f"utterance '{table.loc[dup, 'utterance_id'].iloc[0]}' appears in "
                         "two label files with different audio")
    return table


def _existing_run(out: Path) -> dict | None:
    """The checkpoint to resume from ``out``, None for a fresh folder.

    Raises:
        CheckpointError: ``out`` holds a checkpoint that this version cannot continue.
    """
    for name in (LAST_FILE, MODEL_FILE):
        if (out / name).exists():
            try:
                return read_checkpoint(out / name)
            except CheckpointError as exc:
                raise CheckpointError(f"{exc}\nrefusing to train into {out}: it holds another "
                                      "model's checkpoint; nothing was changed (choose "
                                      "another --out)") from exc
    return None


def _distributed() -> tuple[int, int, torch.device]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
    rank = dist.get_rank() if dist.is_initialized() else 0
    if torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    else:
        device = torch.device("cpu")
    return rank, world, device


def _grow(state: dict, model: MosPredictor) -> dict:
    """Copy ``state`` into the shapes of ``model`` (embedding tables may have grown)."""
    target = model.state_dict()
    out = {}
    for key, value in state.items():
        if key in target and value.shape != target[key].shape and value.dim() == 2:
            grown = target[key].clone()
            rows = min(value.shape[0], grown.shape[0])
            grown[:rows] = value[:rows]
            value = grown
        out[key] = value
    return out


def _validation(model: MosPredictor, table: LabelTable, cache: FeatureCache) -> dict:
    if len(table) == 0:
        return {}
    utts = mean_opinion(table)
    preds = pd.Series({row.utterance_id: predict_features(model, cache.get(row.wav_path))
                       for row in utts.itertuples()}, dtype=float)
    try:
        result = evaluate(preds, table)
    except EvaluationError:
        return {}
    out = {}
    for level, prefix in (("utterance", "utt"), ("system", "sys")):
        for name in ("MSE", "LCC", "SRCC"):
            out[f"{prefix}_{name}"] = float(result[level][name])
    return out


def train(cfg: TrainConfig, *, progress: bool = True, table: LabelTable | None = None,
          on_step: StepCallback | None = None) -> dict:
    """Run (or resume) training; returns ``{"step", "epoch", "losses", "best"}``.

    Args:
        cfg: the settings; ``cfg.labels`` is read unless ``table`` is given.
        progress: show a tqdm bar on stderr.
        table: labels already in memory and validated (the app's ratings and imported
            sets), used instead of reading ``cfg.labels``.
        on_step: called after every optimiser step with ``(step, total_steps, loss)``,
            so a caller can draw a live loss curve.

    Raises:
        TrainError: labels unusable or settings inconsistent.
        CheckpointError: ``--out`` or ``--init`` holds an unusable checkpoint.
    """
    if cfg.val_split not in SPLITS:
        raise TrainError(f"--val-split must be one of {', '.join(SPLITS)}")
    out = Path(cfg.out)
    resume = _existing_run(out)
    init = None
    if cfg.init is not None and resume is None:
        init = read_checkpoint(cfg.init)
    elif cfg.init is not None and Path(cfg.init).resolve() not in (
            out.resolve(), (out / MODEL_FILE).resolve(), (out / LAST_FILE).resolve()):
        raise TrainError(f"{out} already holds a training run; resume it without --init, or "
                         "give another --out to start from --init")
    if table is None:
        table = read_all_labels(cfg.labels)
    rank, world, device = _distributed()

    if resume is not None:
        vocab = Vocab(**resume["infos"]["vocab"])
        args = dict(resume["model_args"])
        saved = resume["train_config"]
        cfg.seed, cfg.val_split, cfg.val_fraction = (saved["seed"], saved["val_split"],
                                                     saved["val_fraction"])
    else:
        base = Vocab(**init["infos"]["vocab"]) if init else Vocab()
        vocab = base.extend(table, cfg.reference_dataset)
        if init:
            args = dict(init["model_args"])
        else:
            args = asdict(MosPredictorConfig.from_dict(dict(cfg.model)))
            missing = [a for a in cfg.aux if a not in table.columns]
            if missing:
                raise TrainError(f"--aux {', '.join(missing)}: no such column in the labels")
            args["aux_targets"] = list(cfg.aux)
            args["aux_mean"], args["aux_std"] = aux_statistics(table, cfg.aux)
        args["n_listeners"], args["n_datasets"] = len(vocab.listeners), len(vocab.datasets)

    train_table, val_table = split_labels(table, cfg.val_split, cfg.val_fraction, cfg.seed)
    torch.manual_seed(cfg.seed)
    model = MosPredictor(**args)
    if resume is not None:
        model.load_state_dict(resume["state_dict"])
    elif init is not None:
        model.load_state_dict(_grow(build_model(init).state_dict(), model))
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    step = epoch = batch_in_epoch = 0
    best = -math.inf
    if resume is not None:
        optimizer.load_state_dict(resume["optimizer"])
        step, epoch = resume["step"], resume["epoch"]
        batch_in_epoch = resume.get("batch_in_epoch", 0)
        saved_best = resume["infos"].get("best_lcc")
        best = -math.inf if saved_best is None else float(saved_best)
        if resume.get("rng") is not None:
            torch.set_rng_state(resume["rng"])
    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)

    feature_cfg = model.feature_config()
    cache = FeatureCache(feature_cfg)
    dataset = VoteDataset(train_table, cache, vocab, max_frames=feature_cfg.frames(
        cfg.max_seconds), aux_targets=args["aux_targets"], aux_mean=args["aux_mean"],
        aux_std=args["aux_std"], seed=cfg.seed)
    sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=True,
                                 seed=cfg.seed, drop_last=False)
    infos = {"label_files": [str(Path(p).resolve()) for p in cfg.labels],
             "vocab": vocab.to_dict(), "reference_dataset": cfg.reference_dataset or "",
             "train_utterances": int(train_table["utterance_id"].nunique()),
             "val_utterances": int(val_table["utterance_id"].nunique()),
             "best_lcc": best if math.isfinite(best) else None,
             "licence": "as the label files and their audio"}
    train_dict = asdict(cfg)
    is_main = rank == 0
    log_path = out / LOG_FILE
    if is_main:
        out.mkdir(parents=True, exist_ok=True)
        MosPredictorConfig.from_dict(args).to_yaml(out / "model.yaml")
        if not log_path.exists():
            with log_path.open("w", newline="") as f:
                csv.writer(f).writerow(LOG_COLUMNS)

    def save(name: str, at_batch: int) -> None:
        infos["best_lcc"] = best if math.isfinite(best) else None
        save_checkpoint(make_checkpoint(model, optimizer=optimizer, train_config=train_dict,
                                        step=step, epoch=epoch, batch_in_epoch=at_batch,
                                        infos=infos, rng=torch.get_rng_state()), out / name)

    def log_and_keep(metrics: dict, train_loss: object) -> bool:
        """Append a log row, save ``last.pt`` and, when validation improved (or there is
        no ``model.pt`` yet), ``model.pt``; returns whether it improved."""
        nonlocal best
        lcc = metrics.get("utt_LCC", math.nan)
        improved = (not math.isfinite(best) and not math.isfinite(lcc)) or (
            math.isfinite(lcc) and lcc > best)
        if math.isfinite(lcc) and lcc > best:
            best = lcc
        with log_path.open("a", newline="") as f:
            row = {"step": step, "epoch": epoch, "train_loss": train_loss, **metrics}
            csv.writer(f).writerow([row.get(c, "") for c in LOG_COLUMNS])
        save(LAST_FILE, batch_in_epoch)
        if improved or not (out / MODEL_FILE).exists():
            save(MODEL_FILE, batch_in_epoch)
        return improved

    losses: list[float] = []
    if resume is None and cfg.head_steps > 0 and len(train_table):
        head_losses = fit_heads(
            model, pooled_vectors(model, dataset.paths, cache), listener=dataset.listeners,
            dataset=dataset.datasets, score=dataset.scores, mos=dataset.mos,
            steps=cfg.head_steps, lr=cfg.head_lr, weight_decay=cfg.weight_decay, tau=cfg.tau,
            rank_weight=cfg.rank_weight, rank_margin=cfg.rank_margin,
            listener_weight=cfg.listener_weight, mean_weight=cfg.mean_weight, seed=cfg.seed)
        if is_main:  # step 0 of the log: the heads fitted on the frozen encoder
            log_and_keep(_validation(model, val_table, cache),
                         float(np.mean(head_losses[-10:])))
    total_steps = cfg.max_steps or cfg.epochs * math.ceil(len(sampler) / cfg.batch_size)
    bar = tqdm(total=total_steps, initial=step, desc="train", unit="step", file=sys.stderr,
               disable=not (progress and is_main) or None)
    done = cfg.max_steps is not None and step >= cfg.max_steps
    while epoch < cfg.epochs and not done:
        sampler.set_epoch(epoch)
        dataset.set_epoch(epoch)
        order = list(sampler)[batch_in_epoch * cfg.batch_size:]
        loader = DataLoader(dataset, batch_size=cfg.batch_size, sampler=order,
                            collate_fn=collate)
        net.train()
        epoch_losses = []
        for batch in loader:
            batch = {k: v.to(device) for k, v in batch.items()}
            result = net(batch["feats"], batch["lengths"], batch["listener"], batch["dataset"])
            loss = (cfg.listener_weight * clipped_mse(result["listener_mos"], batch["score"],
                                                      cfg.tau)
                    + cfg.mean_weight * clipped_mse(result["mos"], batch["mos"], cfg.tau)
                    + cfg.rank_weight * pairwise_ranking(result["mos"], batch["mos"],
                                                         cfg.rank_margin))
            if cfg.system_rank_weight:  # clips of a better system above a worse one's
                loss = loss + cfg.system_rank_weight * pairwise_ranking(
                    result["mos"], batch["system_mos"], cfg.rank_margin)
            if "aux" in result:
                loss = loss + cfg.aux_weight * masked_mse(result["aux"], batch["aux"])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            step += 1
            batch_in_epoch += 1
            value = float(loss.detach())
            losses.append(value)
            epoch_losses.append(value)
            bar.update(1)
            bar.set_postfix(loss=f"{value:.3f}", epoch=epoch)
            if on_step is not None and is_main:
                on_step(step, total_steps, value)
            if is_main and cfg.save_every and step % cfg.save_every == 0:
                save(LAST_FILE, batch_in_epoch)
            if cfg.max_steps is not None and step >= cfg.max_steps:
                done = True
                break
        finished_epoch = not done or batch_in_epoch * cfg.batch_size >= len(sampler)
        if finished_epoch:
            epoch += 1
            batch_in_epoch = 0
        if is_main:
            log_and_keep(_validation(model, val_table, cache),
                         float(np.mean(epoch_losses)) if epoch_losses else "")
        if world > 1:
            dist.barrier()
    bar.close()
    if world > 1 and dist.is_initialized():
        dist.destroy_process_group()
    return {"step": step, "epoch": epoch, "losses": losses,
            "best": best if math.isfinite(best) else None}


def resolve_init(value: str | None, *, explicit_model: bool = False) -> str | None:
    """The checkpoint a run starts from: ``pretrained`` (the default) is the shipped one,
    or nothing when it is absent or a ``--model-config`` asks for a new model; ``none`` is
    nothing; anything else is a checkpoint or model folder as given."""
    if value is None or value.lower() == "none":
        return None
    if value == PRETRAINED:
        if explicit_model or not (SHIPPED_CHECKPOINT / MODEL_FILE).is_file():
            return None
        return str(SHIPPED_CHECKPOINT)
    return value


def schedule(from_checkpoint: bool, ratings: int) -> dict:
    """The settings the user gave none of, sized for ``ratings`` rows: from a checkpoint,
    :data:`FINETUNE` for ``FINETUNE_EPOCHS`` epochs, at most ``FINETUNE_MAX_STEPS`` steps;
    from scratch, :class:`TrainConfig`'s long schedule."""
    if not from_checkpoint:
        d = TrainConfig()
        return {"epochs": d.epochs, "max_steps": None, "batch_size": d.batch_size,
                "max_seconds": d.max_seconds, "val_fraction": d.val_fraction, "head_steps": 0}
    steps = FINETUNE_EPOCHS * math.ceil(max(1, ratings) / FINETUNE["batch_size"])
    return {**FINETUNE, "epochs": FINETUNE_EPOCHS, "max_steps": min(steps, FINETUNE_MAX_STEPS)}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sqa.train",
                                     description=__doc__.split("\n\n")[0])
    d = TrainConfig()
    parser.add_argument("--labels", action="append", required=True,
                        help="label file (URGENT CSV, BVCC, NISQA); repeatable")
    parser.add_argument("--out", required=True, help="model folder to write (or resume)")
    parser.add_argument("--init", default=None,
                        help="checkpoint or model folder to start from (default: the shipped "
                             f"checkpoint, {SHIPPED_CHECKPOINT.relative_to(ROOT)}); 'none' "
                             "trains from scratch")
    parser.add_argument("--val-split", choices=SPLITS, default=d.val_split)
    parser.add_argument("--val-fraction", type=float, default=None,
                        help="share held out for choosing model.pt (default: 0 when "
                             f"fine-tuning, else {d.val_fraction})")
    parser.add_argument("--model-config", help="YAML of MosPredictorConfig settings")
    parser.add_argument("--aux", action="append", default=[],
                        help="metric column as an extra target (e.g. pesq); repeatable")
    parser.add_argument("--reference-dataset",
                        help="dataset whose scale predictions use (default: most ratings)")
    parser.add_argument("--head-steps", type=int, default=None,
                        help="steps fitting the heads on the frozen encoder first (default 0)")
    for name in ("epochs", "max_steps", "batch_size"):
        parser.add_argument("--" + name.replace("_", "-"), type=int, default=None,
                            help="default: sized for the data (sqa.train.schedule)")
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="crop length in training (default: sqa.train.schedule)")
    for name in ("seed", "save_every"):
        parser.add_argument("--" + name.replace("_", "-"), type=int,
                            default=getattr(d, name))
    for name in ("lr", "weight_decay", "tau", "rank_weight", "system_rank_weight",
                 "aux_weight"):
        parser.add_argument("--" + name.replace("_", "-"), type=float,
                            default=getattr(d, name))
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    resuming = any((Path(args.out) / name).is_file() for name in (LAST_FILE, MODEL_FILE))
    if args.init is None:  # the shipped checkpoint, unless a run in --out goes on
        args.init = "none" if resuming else PRETRAINED
    init = resolve_init(args.init, explicit_model=bool(args.model_config))
    if args.model_config and init is not None:
        parser.error("--model-config sets up a new model: it goes with --init none")
    try:
        model = {}
        if args.model_config:
            model = asdict(MosPredictorConfig.from_yaml(Path(args.model_config)))
        if resuming:  # go on with the schedule the run was started with
            saved = _existing_run(Path(args.out))["train_config"]
            sized = {k: saved.get(k, getattr(TrainConfig(), k)) for k in (
                "epochs", "max_steps", "batch_size", "max_seconds", "val_fraction",
                "head_steps")}
        else:
            ratings = sum(len(read_labels(p)) for p in args.labels)
            sized = schedule(init is not None, ratings)
        given = {k: getattr(args, k) for k in sized if getattr(args, k) is not None}
        if "epochs" in given and "max_steps" not in given:
            given["max_steps"] = None  # the epochs the user asked for, not the step cap
        sized.update(given)
        cfg = TrainConfig(
            labels=args.labels, out=args.out, init=init, val_split=args.val_split,
            seed=args.seed, **sized, lr=args.lr,
            weight_decay=args.weight_decay, tau=args.tau,
            rank_weight=args.rank_weight, system_rank_weight=args.system_rank_weight,
            aux_weight=args.aux_weight, aux=args.aux,
            reference_dataset=args.reference_dataset, save_every=args.save_every,
            model=model)
        result = train(cfg)
    except (TrainError, CheckpointError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"trained to step {result['step']} (epoch {result['epoch']}); model in {args.out}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
