"""SE systems broken down by speech category (URGENT 2026 focus 2), on held-out utterances.

    python -m benchmarks.speech_categories [--checkpoint checkpoints/bandsplit_demo.pt]
        [--extra-checkpoint FILE ...] [--per-category 2]

Test set: ``--per-category`` utterances of each category of :mod:`se.simulation.categories`
(neutral, child, elderly, whispered, sung, happy, sad, angry, accented), made as
``conf/simulation/diverse.yaml`` makes them (its sources and voices, transformed) from a pool
seed that no simulation config uses, at 16 and 48 kHz, each degraded by one of three fixed
URGENT mixes (noise; reverb + noise; noise + codec) from unused seeds, the same mixes and
seeds for every category (so categories differ by their speech, not by the SNR drawn).
Every system is scored with PESQ, ESTOI, SI-SDR and DNSMOS OVRL against the URGENT target;
tables give the mean per category. The categories other than neutral are synthetic stand-ins
(README, "Speech sources"), so the numbers say how a system copes with these signal
properties (high F0, no voicing, held notes ...), not how it does on real children or singers.

:func:`category_breakdown` is the reusable part: any results frame with a ``category``
column (``benchmarks.se_model`` can add one) becomes one table per metric.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"  # one thread: the machine is shared

import argparse  # noqa: E402
import platform  # noqa: E402
from dataclasses import replace  # noqa: E402
from datetime import date  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

from audio.degrade import simulate  # noqa: E402
from audio.degrade_config import DegradationConfig  # noqa: E402
from audio.metrics import score_clip  # noqa: E402
from se.simulation import SimulationConfig, SpeechItem  # noqa: E402
from se.simulation.categories import CATEGORIES  # noqa: E402
from se.simulation.sources import diverse_speech_items, load_item  # noqa: E402
from se.systems import NeuralSystem, get_system  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "speech_categories.md"
DEFAULT_CHECKPOINT = ROOT / "checkpoints" / "bandsplit_demo.pt"
DIVERSE = ROOT / "conf" / "simulation" / "diverse.yaml"
METRICS = ("pesq", "estoi", "si_sdr", "dnsmos_ovrl")
RATES = (16_000, 48_000)
MIXES: tuple[tuple[str, ...], ...] = (("noise",), ("reverb", "noise"), ("noise", "codec"))
SYSTEMS = ("unprocessed", "mmse_lsa", "rnnoise")
#: Pool and degradation seeds no shipped simulation config uses.
POOL_SEED = 424_242
SEED_BASE = 909_000
MAX_SECONDS = 6.0


def category_utterances(per_category: int) -> list[SpeechItem]:
    """``per_category`` utterances of every category, made as the diverse config makes them
    (same sources and source weights) from :data:`POOL_SEED`."""
    base = SimulationConfig.from_yaml(DIVERSE)
    synthetic = replace(base.sources.synthetic, utterances=per_category * len(CATEGORIES),
                        categories=dict.fromkeys(CATEGORIES, 1.0))
    config = replace(base, seed=POOL_SEED, sources=replace(base.sources, synthetic=synthetic))
    return list(diverse_speech_items(config))


def category_test_set(per_category: int) -> list[dict]:
    """(degraded, target) pairs with their speech labels, every utterance at every rate.

    The k-th utterance of every category gets the same mix and degradation seed at each rate,
    so categories differ by their speech, not by the noise or SNR drawn.
    """
    items: list[dict] = []
    seen: dict[str, int] = {}
    for utterance in tqdm(category_utterances(per_category), desc="test set"):
        k = seen[utterance.category] = seen.get(str(utterance.category), -1) + 1
        for r, rate in enumerate(RATES):
            clean = load_item(utterance, rate)[: round(MAX_SECONDS * rate)]
            index = k * len(RATES) + r
            mix = MIXES[index % len(MIXES)]
            degraded, target, _ = simulate(clean, rate, np.random.default_rng(SEED_BASE + index),
                                           DegradationConfig(), distortions=mix)
            items.append({"rate": rate, "mix": "+".join(mix), **utterance.labels(),
                          "degraded": degraded, "target": target})
    return items


def score_systems(items: list[dict], systems: dict) -> pd.DataFrame:
    """One row per (system, item): the item's labels, rate, mix and every metric."""
    rows = []
    for name, system in tqdm(systems.items(), desc="systems"):
        for item in tqdm(items, desc=name, leave=False):
            output = system.enhance(item["degraded"], item["rate"])
            scores = score_clip(output, item["rate"], item["target"], METRICS)
            rows.append({"system": name, **{k: v for k, v in item.items()
                                            if k not in ("degraded", "target")},
                         **scores.values})
    return pd.DataFrame(rows)


def category_breakdown(results: pd.DataFrame, metric: str, by: str = "category"
                       ) -> pd.DataFrame:
    """Mean ``metric`` per ``by`` value (rows, in :data:`CATEGORIES` order when ``by`` is
    the category) and system (columns, in order of appearance).

    Raises:
        KeyError: ``results`` has no ``by`` or ``metric`` column.
    """
    for column in (by, metric, "system"):
        if column not in results.columns:
            raise KeyError(f"results have no {column!r} column")
    systems = list(dict.fromkeys(results["system"]))
    table = results.pivot_table(index=by, columns="system", values=metric,
                                aggfunc="mean")[systems]
    if by == "category":
        table = table.loc[[c for c in CATEGORIES if c in table.index]]
    return table


def markdown_table(frame: pd.DataFrame, index_name: str, digits: int = 2) -> list[str]:
    lines = [f"| {index_name} | " + " | ".join(str(c) for c in frame.columns) + " |",
             "|---|" + "---|" * len(frame.columns)]
    for key, row in frame.iterrows():
        lines.append(f"| {key} | " + " | ".join("–" if pd.isna(v) else f"{v:.{digits}f}"
                                                 for v in row) + " |")
    return lines


def category_sections(results: pd.DataFrame, metrics: tuple[str, ...] = METRICS
                      ) -> list[str]:
    """Markdown: one "<metric> by speech category" table per metric."""
    lines: list[str] = []
    for metric in metrics:
        lines += [f"## {metric} by speech category", "",
                  *markdown_table(category_breakdown(results, metric), "category"), ""]
    return lines


def shown_path(path: Path) -> Path:
    path = path.resolve()
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def training_speech(checkpoint: Path) -> str:
    """What speech a checkpoint was trained on, from the simulation config it stores."""
    data = torch.load(checkpoint, map_location="cpu", weights_only=False)["train_config"]["data"]
    simulation = data.get("simulation") or "no simulation config"
    return f"trained on the speech of `{simulation}`"


def report(results: pd.DataFrame, checkpoints: list[Path], per_category: int) -> list[str]:
    gain = results.pivot_table(index="category", columns="system", values="pesq",
                               aggfunc="mean")
    order = [c for c in CATEGORIES if c in gain.index]
    models = "; ".join(f"`{shown_path(c)}` ({training_speech(c)})" for c in checkpoints)
    gains = [f"PESQ gain of `{c.stem}` over the unprocessed input, by category: "
             + ", ".join(f"{k} {v:+.2f}" for k, v in
                         (gain[c.stem] - gain["unprocessed"]).loc[order].items()) + "."
             for c in checkpoints]
    extra = " ".join(f"--extra-checkpoint {shown_path(c)}" for c in checkpoints[1:])
    return [
        "# SE systems by speech category",
        "",
        f"`python -m benchmarks.speech_categories --checkpoint {shown_path(checkpoints[0])} "
        f"{extra + ' ' if extra else ''}--per-category {per_category}` on "
        f"{date.today()}, {platform.machine()}, one thread, torch {torch.__version__} "
        "(machine shared with other jobs: no timings here).",
        "",
        f"Models: {models}. Test set: "
        f"{per_category} held-out utterances per category (sources and transforms of "
        f"`conf/simulation/diverse.yaml`, pool seed {POOL_SEED}), each at "
        f"{', '.join(f'{r // 1000} kHz' for r in RATES)}, degraded by "
        f"{', '.join('+'.join(m) for m in MIXES)} in turn, with the same mixes and seeds in "
        "every category; metrics against the URGENT target. "
        "Categories other than neutral are synthetic or transformed stand-ins.",
        "",
        *[line for g in gains for line in (g, "")],
        *category_sections(results),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
    parser.add_argument("--extra-checkpoint", type=Path, action="append", default=[],
                        help="another SE checkpoint scored beside --checkpoint")
    parser.add_argument("--per-category", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    checkpoints = [args.checkpoint, *args.extra_checkpoint]
    systems = {name: get_system(name) for name in SYSTEMS}
    for checkpoint in checkpoints:
        model = NeuralSystem(checkpoint)
        if model.problem:
            raise SystemExit(model.problem)
        systems[model.name] = model
    items = category_test_set(args.per_category)
    results = score_systems(items, systems)
    lines = report(results, checkpoints, args.per_category)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    results.to_csv(args.out.with_suffix(".csv"), index=False, float_format="%.4f")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
