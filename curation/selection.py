"""Selecting files of a scored corpus by a rule set, and writing the selection the way the
URGENT recipes read it: ``wav.scp``, ``utt2fs`` (each kept file's effective-bandwidth rate,
to which the challenge resamples it), kept and dropped lists (each dropped file with the
rules it failed), a per-source summary and the report (:mod:`curation.report`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from curation.rules import Bound, RuleSet, evaluate


@dataclass
class Selection:
    """A scores table with ``kept`` and ``reason`` columns, and the thresholds applied."""

    table: pd.DataFrame
    bounds: list[Bound]
    rules: RuleSet

    @property
    def kept(self) -> pd.DataFrame:
        return self.table[self.table["kept"]]

    @property
    def dropped(self) -> pd.DataFrame:
        return self.table[~self.table["kept"]]


def select(table: pd.DataFrame, rules: RuleSet) -> Selection:
    """Apply ``rules``; a file that could not be decoded is dropped with its error."""
    table = table.copy()
    decoded = table["duration_s"].notna() if "duration_s" in table else \
        pd.Series(False, index=table.index)
    passed, reason, bounds = evaluate(rules, table[decoded])
    table["kept"] = False
    table["reason"] = ""
    table.loc[decoded, "kept"] = passed
    table.loc[decoded, "reason"] = reason
    errors = table["error"] if "error" in table else pd.Series("", index=table.index)
    table.loc[~decoded, "reason"] = "not scored: " + errors[~decoded].fillna("").astype(str)
    table["kept"] = table["kept"].astype(bool)
    return Selection(table, bounds, rules)


def summary(selection: Selection) -> pd.DataFrame:
    """Per source (and in total): files and hours in and out."""
    t = selection.table.assign(hours=selection.table["duration_s"].fillna(0.0) / 3600.0)
    rows = []
    for source, part in [*t.groupby("source", sort=True), ("all", t)]:
        kept = part[part["kept"]]
        rows.append({"source": source, "files_in": len(part), "hours_in": part["hours"].sum(),
                     "files_kept": len(kept), "hours_kept": kept["hours"].sum(),
                     "kept_share": len(kept) / len(part) if len(part) else np.nan})
    return pd.DataFrame(rows)


def write_selection(selection: Selection, out: str | Path, *, report: bool = True) -> Path:
    """Write the selection under ``out``: wav.scp, utt2fs, utt2source, kept.tsv,
    dropped.tsv, summary.csv, rules.yaml and (``report``) report.md with histograms.png."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    kept = selection.kept.sort_values("id")
    dropped = selection.dropped.sort_values("id")
    (out / "wav.scp").write_text("".join(f"{r.id} {r.path}\n" for r in kept.itertuples()),
                                 encoding="utf-8")
    rate = kept["bandwidth_rate"] if "bandwidth_rate" in kept else kept["sample_rate"]
    rate = rate.fillna(kept["sample_rate"])
    (out / "utt2fs").write_text("".join(f"{i} {int(r)}\n" for i, r in zip(kept["id"], rate,
                                                                         strict=True)),
                                encoding="utf-8")
    (out / "utt2source").write_text("".join(f"{r.id} {r.source}\n" for r in kept.itertuples()),
                                    encoding="utf-8")
    kept[["id", "source", "duration_s", "path"]].to_csv(out / "kept.tsv", sep="\t", index=False)
    dropped[["id", "source", "duration_s", "reason", "path"]].to_csv(out / "dropped.tsv",
                                                                    sep="\t", index=False)
    summary(selection).to_csv(out / "summary.csv", index=False, float_format="%.4f")
    (out / "rules.yaml").write_text(selection.rules.to_yaml(), encoding="utf-8")
    if report:
        from curation.report import write_report

        write_report(selection, out)
    return out
