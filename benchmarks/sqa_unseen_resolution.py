"""How exact is the unseen-systems benchmark's system-level truth? The resolution of its
system LCC/SRCC targets, and which systems each predictor swaps.

    python -m benchmarks.sqa_unseen_resolution      # after python -m benchmarks.sqa_unseen

With 6 held-out systems, Spearman's rho moves in steps of 1 - 6 * sum(d^2) / 210: one
swap of neighbours gives 0.943, so the target SRCC 0.95 asks for a perfect ranking. The
test MOS are means of 8 votes a clip (240 a system), so two systems whose means lie closer
than the votes' noise may be ranked by chance in the truth itself. This measures that:

- the system means of the truth and of each predictor row (its ``mos.scp``), the gap of
  neighbouring systems in the truth and its standard error from the votes;
- the truth against itself: the 180 clips' votes resampled with replacement (2,000 times),
  and also the clips within each system, system SRCC/LCC of each replicate against the
  published truth (mean and 95 % interval, and how often the ranking survives);
- the expected truth of the simulator (no vote noise): each clip's mean vote over the whole
  panel of 40 listeners, 400 noise draws each, from the same latent quality;
- each predictor's system SRCC/LCC against the resampled truths (95 % interval).

Reads ``runs/sqa_unseen/`` (made by :mod:`benchmarks.sqa_unseen`, which it never changes);
writes ``benchmarks/results/sqa_unseen_resolution.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from benchmarks.sqa_unseen import LISTENERS, ROOT, SEED, WORK
from benchmarks.sqa_unseen_listeners import Panel

RESULTS = ROOT / "benchmarks" / "results" / "sqa_unseen_resolution.md"
BOOTSTRAP = 2000
#: Noise draws per clip and listener for the expected (noise-free) truth.
DRAWS = 400


def _system_means(values: pd.Series, systems: pd.Series) -> pd.Series:
    return values.groupby(systems).mean()


def _corr(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    return float(stats.spearmanr(a, b)[0]), float(stats.pearsonr(a, b)[0])


def resampled_truths(votes: pd.DataFrame, clips: pd.DataFrame, rng: np.random.Generator,
                     *, clips_too: bool) -> np.ndarray:
    """(BOOTSTRAP, systems) system means with each clip's votes (and, with ``clips_too``,
    each system's clips) drawn with replacement; systems in ``clips``' sorted order."""
    by_clip = votes.groupby("utterance_id")["score"].apply(np.asarray)
    systems = sorted(clips["system_id"].unique())
    members = [clips.index[clips["system_id"] == s].to_numpy() for s in systems]
    out = np.empty((BOOTSTRAP, len(systems)))
    for b in range(BOOTSTRAP):
        for j, ids in enumerate(members):
            chosen = rng.choice(ids, size=len(ids), replace=True) if clips_too else ids
            out[b, j] = np.mean([rng.choice(by_clip[c], size=len(by_clip[c])).mean()
                                 for c in chosen])
    return out


def expected_truth(clips: pd.DataFrame, quality: pd.DataFrame, rng: np.random.Generator
                   ) -> pd.Series:
    """Each clip's mean vote over the whole panel (no sampling of listeners or noise left
    to speak of): :meth:`Panel.vote`'s rule, vectorised over ``DRAWS`` noise draws."""
    panel = Panel.draw(LISTENERS, np.random.default_rng(SEED + 1))  # the benchmark's panel
    q = quality.loc[clips.index]
    base = (3 + panel.slope[None, :] * (q["ovrl"].to_numpy()[:, None] - 3)
            + panel.preference[None, :] * ((q["sig"] - q["bak"]).to_numpy()[:, None]) / 2
            + panel.offset[None, :])
    v = base[..., None] + rng.standard_normal((*base.shape, DRAWS)) * panel.noise[None, :,
                                                                                   None]
    vote = np.where(v >= 4.5 + panel.reluctance[None, :, None], 5.0,
                    np.clip(np.round(v), 1, 4))
    return pd.Series(vote.mean(axis=(1, 2)), index=clips.index)


def _swaps(pred: pd.Series, truth: pd.Series) -> list[str]:
    order = truth.sort_values().index.tolist()
    out = []
    for i, a in enumerate(order):
        for b in order[i + 1:]:
            if pred[a] >= pred[b]:
                out.append(f"{a} / {b} (truth {truth[b] - truth[a]:+.3f})")
    return out


def _interval(values: np.ndarray) -> str:
    lo, hi = np.percentile(values, [2.5, 97.5])
    return f"{np.mean(values):.3f} [{lo:.3f}, {hi:.3f}]"


def analyse(work: Path) -> tuple[str, dict]:
    clips = pd.read_csv(work / "test.csv")
    clips.index = clips["system_id"] + "-" + clips["sample_id"]
    votes = pd.read_csv(work / "test_votes.csv")
    records = json.loads((work / "pool" / "pool.json").read_text(encoding="utf-8"))["records"]
    quality = pd.DataFrame(records).set_index("utterance_id")[["sig", "bak", "ovrl"]]
    check = votes.groupby("utterance_id")["score"].mean().reindex(clips.index)
    if not np.allclose(check.to_numpy(), clips["score"].to_numpy(), atol=1e-3):
        raise SystemExit("test_votes.csv does not match test.csv: rerun "
                         "python -m benchmarks.sqa_unseen --data-only")
    systems = sorted(clips["system_id"].unique())
    truth = _system_means(clips["score"], clips["system_id"]).reindex(systems)
    rng = np.random.default_rng(7)
    per_clip_var = votes.groupby("utterance_id")["score"].var(ddof=1) / votes.groupby(
        "utterance_id")["score"].size()
    vote_se = np.sqrt(per_clip_var.groupby(clips["system_id"]).sum()) / clips.groupby(
        "system_id").size()
    clip_se = clips.groupby("system_id")["score"].std(ddof=1) / np.sqrt(
        clips.groupby("system_id").size())
    expected = _system_means(expected_truth(clips, quality, rng), clips["system_id"]
                             ).reindex(systems)
    boot = {kind: resampled_truths(votes, clips, rng, clips_too=kind == "clips")
            for kind in ("votes", "clips")}
    self_scores = {}
    for kind, table in boot.items():
        pairs = np.array([_corr(row, truth.to_numpy()) for row in table])
        self_scores[kind] = {"srcc": pairs[:, 0], "lcc": pairs[:, 1],
                             "perfect": float(np.mean(pairs[:, 0] > 0.999))}

    rows = []
    for folder in sorted((work / "rows").glob("*/mos.scp")):
        pred = pd.read_csv(folder, sep=r"\s+", header=None, index_col=0).iloc[:, 0]
        pred = pred.reindex(clips.index)
        if pred.isna().any():
            continue
        means = _system_means(pred, clips["system_id"]).reindex(systems)
        srcc, lcc = _corr(means.to_numpy(), truth.to_numpy())
        vs_boot = np.array([_corr(means.to_numpy(), row) for row in boot["votes"]])
        rows.append({"row": folder.parent.name, "sys_SRCC": srcc, "sys_LCC": lcc,
                     "srcc_boot": vs_boot[:, 0], "lcc_boot": vs_boot[:, 1],
                     "swaps": _swaps(means, truth), "means": means})
    order = truth.sort_values().index
    lines = ["# Resolution of the system-level targets (unseen-systems set)", "",
             "`python -m benchmarks.sqa_unseen_resolution`: the benchmark's own test votes "
             f"(`runs/sqa_unseen/test_votes.csv`), {BOOTSTRAP} bootstrap replicates; no "
             "training, nothing of the set changed.", "",
             "## The truth, system by system (worst first)", "",
             "| system | MOS (8 votes x 30 clips) | gap to the one below | SE from votes | "
             "SE from clips | expected MOS, no vote noise |", "|---|---|---|---|---|---|"]
    previous = None
    for s in order:
        gap = "" if previous is None else f"{truth[s] - truth[previous]:+.3f}"
        lines.append(f"| {s} | {truth[s]:.3f} | {gap} | {vote_se[s]:.3f} | {clip_se[s]:.3f} "
                     f"| {expected[s]:.3f} |")
        previous = s
    exp_srcc, exp_lcc = _corr(expected.to_numpy(), truth.to_numpy())
    lines += ["", "## The truth against itself", "",
              "| resampled | system SRCC, mean [95 % interval] | system LCC | ranking "
              "unchanged |", "|---|---|---|---|"]
    for kind, label in (("votes", "each clip's 8 votes"),
                        ("clips", "each system's 30 clips, then their votes")):
        sc = self_scores[kind]
        lines.append(f"| {label} | {_interval(sc['srcc'])} | {_interval(sc['lcc'])} | "
                     f"{100 * sc['perfect']:.0f} % |")
    lines.append(f"| expected truth (whole panel, no vote noise) vs published truth | "
                 f"{exp_srcc:.3f} | {exp_lcc:.3f} | "
                 f"{'yes' if exp_srcc > 0.999 else 'no'} |")
    lines += ["", "## Predictors: system scores, the pairs they swap, and the interval "
              "over resampled truths (votes)", "",
              "| row (`runs/sqa_unseen/rows/`) | sys SRCC | sys LCC | SRCC over resampled "
              "truths | LCC over resampled truths | pairs ranked against the truth |",
              "|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: -r["sys_LCC"]):
        lines.append(f"| {r['row']} | {r['sys_SRCC']:.3f} | {r['sys_LCC']:.3f} | "
                     f"{_interval(r['srcc_boot'])} | {_interval(r['lcc_boot'])} | "
                     f"{'; '.join(r['swaps']) or 'none'} |")
    summary = {
        "truth": truth.to_dict(), "expected": expected.to_dict(),
        "vote_se": vote_se.to_dict(), "clip_se": clip_se.to_dict(),
        "self": {k: {"srcc_mean": float(np.mean(v["srcc"])),
                     "srcc_ci": np.percentile(v["srcc"], [2.5, 97.5]).tolist(),
                     "lcc_mean": float(np.mean(v["lcc"])),
                     "lcc_ci": np.percentile(v["lcc"], [2.5, 97.5]).tolist(),
                     "ranking_unchanged": v["perfect"]} for k, v in self_scores.items()},
        "rows": [{"row": r["row"], "sys_SRCC": r["sys_SRCC"], "sys_LCC": r["sys_LCC"],
                  "srcc_ci": np.percentile(r["srcc_boot"], [2.5, 97.5]).tolist(),
                  "lcc_ci": np.percentile(r["lcc_boot"], [2.5, 97.5]).tolist(),
                  "swaps": r["swaps"], "means": r["means"].to_dict()} for r in rows]}
    return "\n".join(lines) + "\n", summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sqa_unseen_resolution",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=WORK)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    text, summary = analyse(args.work)
    args.out.write_text(text, encoding="utf-8")
    args.out.with_suffix(".json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
