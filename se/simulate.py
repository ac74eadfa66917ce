"""Simulate URGENT-style noisy/clean pairs at the URGENT sampling rates.

    python -m se.simulate --config conf/simulation/default.yaml --out data/sim [--limit N]

Speech, noise and RIR lists are Kaldi ``wav.scp`` files, as the URGENT recipes prepare them;
whatever the config leaves out comes from the built-in synthetic source (espeak-ng speech,
generated noise, synthetic rooms). Writes under ``--out``:

    noisy/<id>.flac, clean/<id>.flac   16-bit FLAC, same length, at the mixture's rate
                                        (both scaled down together, ``file_gain`` in the
                                        record, where the clean target would clip)
    noisy.scp, clean.scp, utt2fs        Kaldi-style lists (absolute paths) and rates
    utt2category                        each mixture's speech category (neutral, child, ...;
                                        the speech labels are in mixtures.jsonl)
    mixtures.jsonl                      one MixtureRecord per clip (se.simulation.rebuild)
    simulation.yaml                     the config as read, defaults filled in

Mixtures go index by index over the rates (clip 0 at every rate, then clip 1, ...), so
``--limit`` keeps every rate. With speech categories (``sources.synthetic.categories``),
mixture ``k`` of the plan takes the ``k``-th category of a smooth weighted round robin, so any
prefix (``--limit``) holds each category in proportion to its weight. The config and every
listed file are checked before anything is written; a bad one ends with one line on stderr and
exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
import yaml
from tqdm import tqdm

from audio.degrade_config import ConfigError
from audio.speech_sources import SpeechSourceError
from audio.tts import TtsError
from se.manifest import ManifestError
from se.simulation import (
    FILE_GAIN,
    MixtureRecord,
    SimulationConfig,
    build_pools,
    file_gain,
    make_mixture,
    mixture_seed,
)
from se.simulation.categories import weighted_sequence


def mixture_plan(config: SimulationConfig, limit: int | None = None
                 ) -> list[tuple[str, int, int]]:
    """(id, sample_rate, seed) of every mixture ``se.simulate`` writes, in order."""
    plan = [(f"fs{rate}_{index:06d}", rate, mixture_seed(config.seed, 0, rate, index))
            for index in range(config.count_per_rate) for rate in config.rates]
    return plan if limit is None else plan[:limit]


def _write_flac(path: Path, x: np.ndarray, sample_rate: int) -> None:
    sf.write(path, np.clip(x, -1.0, 1.0), sample_rate, format="FLAC", subtype="PCM_16")


def run(config: SimulationConfig, out: Path, limit: int | None = None, *,
        progress: bool = True) -> list[MixtureRecord]:
    """Validate the sources, then write the data set (see the module docstring).

    Raises:
        ManifestError: a ``wav.scp`` cannot be read or lists a missing file.
        TtsUnavailable: synthetic speech is needed without espeak-ng.
    """
    pools = build_pools(config)
    plan = mixture_plan(config, limit)
    categories = (weighted_sequence(pools.category_weights, len(plan))
                  if pools.category_weights is not None else [None] * len(plan))
    for sub in ("noisy", "clean"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    (out / "simulation.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False),
                                         encoding="utf-8")
    records: list[MixtureRecord] = []
    with open(out / "mixtures.jsonl", "w", encoding="utf-8") as jsonl, \
            open(out / "noisy.scp", "w", encoding="utf-8") as noisy_scp, \
            open(out / "clean.scp", "w", encoding="utf-8") as clean_scp, \
            open(out / "utt2fs", "w", encoding="utf-8") as utt2fs, \
            open(out / "utt2category", "w", encoding="utf-8") as utt2category:
        for (mixture_id, rate, seed), category in tqdm(
                list(zip(plan, categories, strict=True)), desc="simulate", unit="clip",
                disable=not progress):
            noisy, clean, record = make_mixture(config, pools, mixture_id, rate, seed,
                                                category)
            gain = file_gain(noisy, clean, config.degradation.peak)
            if gain != 1.0:  # a clipped mixture's target peaks above full scale
                noisy, clean = noisy * gain, clean * gain
                record.params[FILE_GAIN] = gain
            for sub, x, scp in (("noisy", noisy, noisy_scp), ("clean", clean, clean_scp)):
                path = (out / sub / f"{mixture_id}.flac").resolve()
                _write_flac(path, x, rate)
                scp.write(f"{mixture_id} {path}\n")
            utt2fs.write(f"{mixture_id} {rate}\n")
            utt2category.write(f"{mixture_id} {record.speech.category}\n")
            jsonl.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")
            records.append(record)
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m se.simulate", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, type=Path, help="simulation YAML")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--limit", type=int, default=None,
                        help="write at most N mixtures in all (for a quick look)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        if args.limit is not None and args.limit < 0:
            raise ConfigError("--limit", f"must be >= 0, got {args.limit}")
        config = SimulationConfig.from_yaml(args.config)
        run(config, args.out, args.limit, progress=not args.quiet)
    except (ConfigError, ManifestError, TtsError, SpeechSourceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
