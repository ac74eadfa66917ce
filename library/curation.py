"""The app's side of data curation: library datasets exported for :mod:`curation`, scored
corpora under the data folder, live selections by typed thresholds, and their export.

:mod:`curation` never sees the database: a dataset becomes a ``wav.scp`` of the audio
store's files (:func:`export_dataset`), which ``python -m curation score`` or
:func:`score_dataset` then scores like any corpus. Scored corpora live in
``<data>/curation/scores/<name>/``; exported selections in ``<data>/curation/selections/``.

    python -m library.curation export --dataset demo [--data-dir ./data] --out demo_scp/
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import select as sql_select
from sqlalchemy.orm import Session

from audio.io import load_audio
from curation.inputs import read_wav_scp
from curation.metrics import DEFAULT_GROUPS
from curation.rules import Bound, threshold_rules
from curation.scoring import ScoreOptions, ScoreReport, score_corpus
from curation.selection import Selection, select, summary, write_selection
from curation.store import read_scores
from db.models import Clip, Dataset, DatasetClip, System
from db.store import AudioStore
from library.clips import LibraryError

#: Metrics the app offers thresholds for, with the direction a good file lies in.
THRESHOLD_METRICS: dict[str, str] = {
    "speech_ratio": "min", "snr_db": "min", "dnsmos_sig": "min", "dnsmos_bak": "min",
    "dnsmos_ovrl": "min", "dnsmos_p808": "min", "plcmos": "min", "sqa_mos": "min",
    "bandwidth_hz": "min", "bandwidth_ratio": "min", "clipping_ratio": "max",
    "rms_dbfs": "min", "duration_s": "min"}

ProgressCallback = Callable[[int, int, str], None]


def curation_dir(data_dir: str | Path) -> Path:
    return Path(data_dir) / "curation"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "item"


def export_dataset(session: Session, store: AudioStore, dataset: str, folder: str | Path
                   ) -> Path:
    """Write ``wav.scp`` and ``utt2source`` of a library dataset under ``folder``: one line
    per clip pointing at its file in the audio store (no copy); the source of a clip is its
    system (the dataset's name for clips without one).

    Raises:
        LibraryError: no such dataset, or it holds no clips.
    """
    found = session.scalars(sql_select(Dataset).where(Dataset.name == dataset)).first()
    if found is None:
        raise LibraryError(f"no dataset named '{dataset}'")
    rows = session.execute(
        sql_select(DatasetClip.name, Clip.id, Clip.sha256, System.name)
        .join(Clip, Clip.id == DatasetClip.clip_id)
        .outerjoin(System, System.id == Clip.system_id)
        .where(DatasetClip.dataset_id == found.id).order_by(DatasetClip.name)).all()
    if not rows:
        raise LibraryError(f"dataset '{dataset}' holds no clips")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    scp, sources, seen = [], [], set()
    for name, clip_id, sha, system in rows:
        item = _safe(Path(name).stem)
        if item in seen:
            item = f"{item}-{clip_id}"
        seen.add(item)
        scp.append(f"{item} {store.path_for(sha)}\n")
        sources.append(f"{item} {_safe(system or dataset)}\n")
    (folder / "wav.scp").write_text("".join(scp), encoding="utf-8")
    (folder / "utt2source").write_text("".join(sources), encoding="utf-8")
    return folder / "wav.scp"


def scored_corpora(data_dir: str | Path) -> list[str]:
    """Names of the scored corpora under ``<data>/curation/scores/``."""
    root = curation_dir(data_dir) / "scores"
    return sorted(p.name for p in root.iterdir() if p.is_dir() and any(p.glob("part-*"))) \
        if root.is_dir() else []


def corpus_folder(data_dir: str | Path, name_or_path: str) -> Path:
    """A corpus name under the data folder, or any scores folder path on the server."""
    if "/" in name_or_path or name_or_path.startswith("~"):
        return Path(name_or_path).expanduser()
    return curation_dir(data_dir) / "scores" / _safe(name_or_path)


def score_dataset(session_factory: Callable[[], Session], store: AudioStore,
                  data_dir: str | Path, dataset: str, *,
                  groups: tuple[str, ...] = DEFAULT_GROUPS,
                  progress: ProgressCallback | None = None) -> tuple[str, ScoreReport]:
    """Score a library dataset into ``<data>/curation/scores/<dataset>/`` (resumed: files
    already scored are skipped).

    Raises:
        LibraryError: no such dataset, or it is empty.
    """
    name = _safe(dataset)
    inputs = curation_dir(data_dir) / "inputs" / name
    with session_factory() as session:
        scp = export_dataset(session, store, dataset, inputs)
    files = read_wav_scp(scp)
    report = score_corpus(files, curation_dir(data_dir) / "scores" / name,
                          ScoreOptions(groups=groups), progress=progress or False)
    return name, report


def load_corpus(data_dir: str | Path, name_or_path: str) -> pd.DataFrame:
    """The merged scores table of a corpus.

    Raises:
        LibraryError: nothing scored there.
    """
    try:
        return read_scores(corpus_folder(data_dir, name_or_path))
    except FileNotFoundError as exc:
        raise LibraryError(str(exc)) from exc


@dataclass
class LiveSelection:
    """What the tab shows for a set of typed thresholds."""

    selection: Selection
    per_source: pd.DataFrame

    @property
    def bounds(self) -> list[Bound]:
        return self.selection.bounds


def apply_thresholds(table: pd.DataFrame,
                     bounds: Mapping[str, tuple[float | None, float | None]]) -> LiveSelection:
    """Select by fixed bounds per metric (None: no bound); metrics the table lacks are
    ignored, so thresholds for groups a corpus was not scored with change nothing."""
    usable = {m: b for m, b in bounds.items() if m in table.columns}
    selection = select(table, threshold_rules(usable, name="app"))
    return LiveSelection(selection, summary(selection))


def near_threshold(live: LiveSelection, limit: int = 20) -> pd.DataFrame:
    """Decoded files closest to any threshold (distance in standard deviations of that
    metric), the ones a person should listen to when placing it."""
    table = live.selection.table
    rows = []
    for bound in live.bounds:
        values = pd.to_numeric(table[bound.metric], errors="coerce")
        spread = float(values.std()) or 1.0
        for edge in (bound.low, bound.high):
            if edge is None:
                continue
            part = table[table["source"] == bound.source]
            distance = (pd.to_numeric(part[bound.metric], errors="coerce") - edge).abs() / spread
            for index, d in distance.dropna().items():
                rows.append((index, bound.metric, edge, float(d)))
    if not rows:
        return pd.DataFrame(columns=["id", "source", "metric", "value", "threshold",
                                     "kept", "reason"])
    near = (pd.DataFrame(rows, columns=["index", "metric", "threshold", "distance"])
            .sort_values("distance").drop_duplicates("index").head(limit))
    out = table.loc[near["index"], ["id", "source", "kept", "reason"]].reset_index(drop=True)
    out.insert(2, "metric", near["metric"].to_numpy())
    out.insert(3, "value", [float(table.loc[i, m]) for i, m in zip(near["index"],
                                                                    near["metric"],
                                                                    strict=True)])
    out.insert(4, "threshold", near["threshold"].to_numpy())
    return out


def clip_audio(table: pd.DataFrame, item_id: str) -> tuple[np.ndarray, int, str]:
    """(samples, rate, path) of one file of a scored corpus.

    Raises:
        LibraryError: unknown id, or its file no longer decodes.
    """
    row = table[table["id"] == item_id]
    if row.empty:
        raise LibraryError(f"no file '{item_id}' in this corpus")
    path = str(row.iloc[0]["path"])
    try:
        audio = load_audio(path, max_seconds=None)
    except ValueError as exc:
        raise LibraryError(str(exc)) from exc
    return audio.samples, audio.sample_rate, path


def export_selection(data_dir: str | Path, table: pd.DataFrame,
                     bounds: Mapping[str, tuple[float | None, float | None]], corpus: str
                     ) -> Path:
    """Write the selection (wav.scp, utt2fs, lists, rules.yaml, report) under
    ``<data>/curation/selections/<corpus>-<time>/``."""
    live = apply_thresholds(table, bounds)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return write_selection(live.selection,
                           curation_dir(data_dir) / "selections" / f"{_safe(corpus)}-{stamp}")


def main(argv: list[str] | None = None) -> int:
    """``python -m library.curation export``: a dataset as a wav.scp for ``curation``."""
    from db.session import DatabaseError, create_db_engine, make_session_factory, sqlite_url

    parser = argparse.ArgumentParser(prog="python -m library.curation")
    sub = parser.add_subparsers(dest="command", required=True)
    export = sub.add_parser("export", help="write a library dataset as wav.scp + utt2source")
    export.add_argument("--dataset", required=True)
    export.add_argument("--data-dir", default="./data")
    export.add_argument("--db-url", default=None, help="default: the data folder's SQLite")
    export.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    data = Path(args.data_dir)
    url = args.db_url or sqlite_url(data / "workbench.db")
    if not args.db_url and not (data / "workbench.db").is_file():
        print(f"error: no database at {data / 'workbench.db'} (start the app once, or give "
              f"--db-url)", file=sys.stderr)
        return 2
    try:
        sessions = make_session_factory(create_db_engine(url))
        with sessions() as session:
            scp = export_dataset(session, AudioStore(data / "audio"), args.dataset, args.out)
    except (DatabaseError, LibraryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{scp} ({sum(1 for _ in open(scp, encoding='utf-8'))} files); next: python -m "
          f"curation score --input {scp} --out scores/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
