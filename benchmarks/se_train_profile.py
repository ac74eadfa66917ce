"""Why the SE model trains slowly: where a training step's time goes, and what the loss pays
attention to.

    python -m benchmarks.se_train_profile [--config conf/se/demo_finetune.yaml] [--steps 8]

1. **One step, timed by phase** (median of ``--steps`` steps after one warm-up, torch on
   ``--threads`` threads): simulating the batch's mixtures on the fly (dynamic mixing, in
   the training process as ``se.train`` does it), forward, loss, backward, optimizer.
2. **Loss balance**, on ``--items`` training mixtures through the shipped model: the
   MR-STFT loss of its output and of the unprocessed input by SNR, and the share of the
   log-magnitude term that comes from time-frequency bins more than 60 dB below the
   reference's loudest bin (pauses, empty bands), which no listener and no PESQ hears.
3. **What the data holds**: share of mixtures with noise, SNR below 5 dB, each extra
   distortion.

Writes ``benchmarks/results/se_train_profile.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections import Counter
from dataclasses import asdict
from datetime import date
from pathlib import Path

import numpy as np
import torch
import yaml

from se.losses import LOG_FLOOR, LOSS_RESOLUTIONS, _magnitude, enhancement_loss
from se.models import BandSplitConfig, BandSplitNet
from se.systems.neural import load_model
from se.train import TrainConfig, _collate, make_datasets, rate_batches

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "se_train_profile.md"
#: Bins this far below the reference's loudest bin count as "quiet" (pause or empty band).
QUIET_DB = -60.0
SNR_BINS = ((-5.0, 0.0), (0.0, 5.0), (5.0, 10.0), (10.0, 20.0))


def time_steps(cfg: TrainConfig, steps: int) -> dict[str, list[float]]:
    """Seconds per phase of ``steps`` real training steps (after one warm-up step)."""
    dataset, _ = make_datasets(cfg)
    model = BandSplitNet(**asdict(BandSplitConfig.from_dict(dict(cfg.model))))
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    batches = rate_batches(dataset.item_sample_rates, cfg.batch_size, seed=cfg.seed, epoch=0)
    phases: dict[str, list[float]] = {k: [] for k in
                                      ("data", "forward", "loss", "backward", "optimizer")}
    rates: list[int] = []
    for index, batch in enumerate(batches[: steps + 1]):
        t0 = time.perf_counter()
        noisy, clean, rate = _collate([dataset[i] for i in batch])
        t1 = time.perf_counter()
        est = model(noisy, rate)
        t2 = time.perf_counter()
        loss, _ = enhancement_loss(est, clean, rate, stft_weight=cfg.stft_weight,
                                   si_sdr_weight=cfg.si_sdr_weight)
        t3 = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        t4 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        t5 = time.perf_counter()
        if index == 0:
            continue  # warm-up: first espeak-ng calls, allocator
        rates.append(rate)
        for key, value in zip(phases, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4),
                              strict=True):
            phases[key].append(value)
    phases["rate"] = [float(r) for r in rates]
    return phases


def loss_balance(cfg: TrainConfig, checkpoint: Path, items: int) -> list[dict]:
    """Per mixture: SNR, distortions, MR-STFT loss of input and output, quiet-bin share."""
    dataset, _ = make_datasets(cfg)
    inner = dataset.inner
    model = load_model(checkpoint)
    model.eval()
    rows = []
    for index in range(items):
        noisy, clean, record = inner.mixture(index)
        rate = record.sample_rate
        n = min(len(noisy), round(cfg.data.seconds * 2 * rate))
        x = torch.from_numpy(np.ascontiguousarray(noisy[:n]))[None]
        y = torch.from_numpy(np.ascontiguousarray(clean[:n]))[None]
        with torch.no_grad():
            est = model(x, rate)
            _, parts_out = enhancement_loss(est, y, rate)
            _, parts_in = enhancement_loss(x, y, rate)
            quiet = total = 0.0
            for config in LOSS_RESOLUTIONS:
                ref, out = _magnitude(y, rate, config), _magnitude(est, rate, config)
                diff = (ref.clamp_min(LOG_FLOOR).log() - out.clamp_min(LOG_FLOOR).log()).abs()
                mask = ref < ref.max() * 10 ** (QUIET_DB / 20)
                quiet += float(diff[mask].sum())
                total += float(diff.sum())
        params = record.params
        noise = params.get("noise")
        rows.append({"rate": rate, "snr_db": None if noise is None else noise["snr_db"],
                     "distortions": list(params.get("distortions", [])),
                     "mrstft_in": parts_in["mrstft"], "mrstft_out": parts_out["mrstft"],
                     "si_sdr_in": parts_in["si_sdr"], "si_sdr_out": parts_out["si_sdr"],
                     "quiet_share": quiet / max(total, 1e-12)})
    return rows


def _median_ms(values: list[float]) -> str:
    return f"{1000 * statistics.median(values):.0f}"


def report(cfg_path: Path, cfg: TrainConfig, threads: int, phases: dict[str, list[float]],
           rows: list[dict], checkpoint: Path) -> list[str]:
    keys = ("data", "forward", "loss", "backward", "optimizer")
    total = [sum(phases[k][i] for k in keys) for i in range(len(phases["data"]))]
    lines = [
        "# SE training: where a step's time goes, and what the loss weighs",
        "",
        f"`python -m benchmarks.se_train_profile --config {cfg_path}` on {date.today()}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs shared with other jobs (load varied), "
        f"torch {torch.__version__} on {threads} threads.",
        "",
        f"## One training step (batch {cfg.batch_size} x {cfg.data.seconds:g} s, median of "
        f"{len(total)} steps at rates {sorted(set(int(r) for r in phases['rate']))})",
        "",
        "| phase | ms | share |",
        "|---|---|---|",
        *(f"| {k} | {_median_ms(phases[k])} | "
          f"{statistics.median(phases[k]) / statistics.median(total):.0%} |" for k in keys),
        f"| whole step | {_median_ms(total)} | |",
        "",
    ]
    with_noise = [r for r in rows if r["snr_db"] is not None]
    shown = checkpoint.relative_to(ROOT) if checkpoint.is_relative_to(ROOT) else checkpoint
    lines += [f"## Loss balance ({len(rows)} training mixtures of `{cfg.data.simulation}`, "
              f"noise probability {cfg.data.noise_probability:g}, through "
              f"`{shown}`)",
              "",
              "| mixtures | n | MR-STFT input | MR-STFT output | SI-SDR input | SI-SDR output "
              f"| log-magnitude share from bins < {QUIET_DB:g} dB |",
              "|---|---|---|---|---|---|---|"]
    groups = [(f"SNR {lo:g}..{hi:g} dB",
               [r for r in with_noise if lo <= r["snr_db"] < hi]) for lo, hi in SNR_BINS]
    groups.append(("no noise", [r for r in rows if r["snr_db"] is None]))
    groups.append(("all", rows))
    for name, group in groups:
        if not group:
            continue
        def mean(key: str, group: list[dict] = group) -> float:
            return float(np.mean([r[key] for r in group]))
        lines.append(f"| {name} | {len(group)} | {mean('mrstft_in'):.2f} | "
                     f"{mean('mrstft_out'):.2f} | {mean('si_sdr_in'):.1f} | "
                     f"{mean('si_sdr_out'):.1f} | {mean('quiet_share'):.0%} |")
    counts = Counter(d for r in rows for d in r["distortions"])
    low = sum(1 for r in with_noise if r["snr_db"] < 5.0)
    lines += ["", "## What the training data holds", "",
              f"Of {len(rows)} mixtures: {len(with_noise)} with noise "
              f"({len(with_noise) / len(rows):.0%}), {low} below 5 dB SNR "
              f"({low / len(rows):.0%}); " + ", ".join(
                  f"{name} {counts[name] / len(rows):.0%}" for name in
                  ("reverb", "bandwidth", "clipping", "codec", "packet_loss")) + ".", ""]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=Path("conf/se/demo_finetune.yaml"))
    parser.add_argument("--checkpoint", type=Path,
                        default=ROOT / "checkpoints" / "bandsplit_demo.pt")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--items", type=int, default=48)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    values = yaml.safe_load(args.config.read_text())
    values.pop("init_from", None)  # the weights do not matter for timing
    cfg = TrainConfig.from_dict(values)
    phases = time_steps(cfg, args.steps)
    rows = loss_balance(cfg, args.checkpoint, args.items)
    lines = report(args.config, cfg, args.threads, phases, rows, args.checkpoint)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
