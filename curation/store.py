"""A scores folder: Parquet parts written as scoring goes, read back as one table.

Each part is written to a temporary name and renamed, so an interrupted run leaves whole
parts only, and nothing scored before the interruption is lost. Parts are merged per file
id in the order they were written, a later value replacing an earlier one column by column;
a group that has not been computed for a file stays empty (NaN). Each group has an
``error_<group>`` column: "" when it succeeded, the reason when it failed; ``error`` joins
them for reading.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd

from curation.metrics import GROUPS, error_column, metric_columns

PART_GLOB = "part-*.parquet"
_counter = 0


def write_part(folder: Path, rows: list[dict], *, tag: str = "") -> Path | None:
    """Write ``rows`` as a new part under ``folder`` (atomically); None when empty."""
    global _counter
    if not rows:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    _counter += 1
    name = f"part-{time.time_ns():020d}-{os.getpid()}-{_counter:05d}{tag}.parquet"
    tmp = folder / f".{name}.tmp"
    pd.DataFrame(rows).to_parquet(tmp, index=False)
    os.replace(tmp, folder / name)
    return folder / name


def _ordered_columns(columns: list[str]) -> list[str]:
    first = ["id", "source", "path", "duration_s", "sample_rate", "channels"]
    metrics = [c for c in metric_columns(tuple(GROUPS)) if c in columns]
    errors = [error_column(g) for g in GROUPS if error_column(g) in columns]
    rest = [c for c in columns if c not in (*first, *metrics, *errors, "error")]
    return [c for c in first if c in columns] + metrics + ["error"] + errors + rest


def read_scores(folder: str | Path) -> pd.DataFrame:
    """Every part of ``folder`` merged into one row per file id (sorted by id), with an
    ``error`` column joining the reasons of its failed groups ("" if none).

    Raises:
        FileNotFoundError: ``folder`` holds no parts.
    """
    folder = Path(folder)
    parts = sorted(folder.glob(PART_GLOB))
    if not parts:
        raise FileNotFoundError(f"{folder}: no scores here (part-*.parquet); run "
                                f"python -m curation score first")
    table = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    merged = table.groupby("id", sort=True).last().reset_index()
    errors = [error_column(g) for g in GROUPS if error_column(g) in merged.columns]
    merged["error"] = merged[errors].apply(
        lambda r: "; ".join(dict.fromkeys(v for v in r if isinstance(v, str) and v)), axis=1) \
        if errors else ""
    return merged[_ordered_columns(list(merged.columns))]


def done_groups(folder: Path) -> dict[str, set[str]]:
    """For each file id scored before: the groups already computed (or failed)."""
    try:
        table = read_scores(folder)
    except FileNotFoundError:
        return {}
    done: dict[str, set[str]] = {}
    columns = {g: error_column(g) for g in GROUPS if error_column(g) in table.columns}
    for row in table.itertuples(index=False):
        values = row._asdict()
        done[values["id"]] = {g for g, c in columns.items() if isinstance(values.get(c), str)}
    return done
