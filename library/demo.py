"""Seeding the shipped demo set into an empty library, so the app is useful at first start."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.orm import Session

from audio.io import load_audio
from db.models import ClipOrigin, SystemKind
from db.store import AudioStore
from library.clips import add_clip, get_or_create_dataset, get_or_create_system

DEMO_DIR = Path(__file__).resolve().parents[1] / "demo"
DEMO_DATASET = "demo"
#: The demo's short clips of child, elderly, whispered, sung, emotional and accented speech
#: (synthetic or transformed stand-ins, manifest rows with ``"dataset": "demo_categories"``),
#: a dataset of their own so that the 48-clip demo set stays what it was.
CATEGORY_DATASET = "demo_categories"
_DATASETS = {
    DEMO_DATASET: ("Synthetic speech (espeak-ng) in several voices, languages and rates, "
                   "clean and degraded"),
    CATEGORY_DATASET: ("One short clip per speech category (child, elderly, whispered, sung, "
                       "happy, sad, angry, accented): synthetic or transformed stand-ins "
                       "(espeak-ng, flite, festival), clean and noisy, 16 kHz"),
}

_SYSTEMS = {
    "reference": (SystemKind.REFERENCE, "Clean reference speech (espeak-ng, high-passed)"),
    "unprocessed": (SystemKind.IDENTITY, "Degraded input, as it enters an enhancer"),
}


def read_manifest(demo_dir: Path = DEMO_DIR) -> list[dict]:
    """The demo manifest, one dict a clip, references before the clips that point to them."""
    manifest = Path(demo_dir) / "manifest.jsonl"
    if not manifest.is_file():
        raise FileNotFoundError(f"demo set not found: {manifest} is missing")
    entries = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]
    return sorted(entries, key=lambda e: e["role"] != "reference")


def seed_demo(session: Session, store: AudioStore, demo_dir: Path = DEMO_DIR) -> int:
    """Add the demo clips with their systems, references, conditions and speech labels
    (``condition["speech"]``: category, age group, style, language, accent, source).

    Returns:
        the number of clips in the demo datasets afterwards (a second call adds nothing).
    """
    datasets = {name: get_or_create_dataset(session, name, source="shipped demo set",
                                            description=description)
                for name, description in _DATASETS.items()}
    ids: dict[str, int] = {}
    for entry in read_manifest(demo_dir):
        dataset = datasets[entry.get("dataset", DEMO_DATASET)]
        name, kind_description = entry["system"], _SYSTEMS[entry["system"]]
        system = get_or_create_system(session, name, kind_description[0],
                                      description=kind_description[1])
        condition = dict(entry.get("condition") or {})
        condition.update({k: entry[k] for k in ("utterance", "language", "voice", "text",
                                                "speech") if k in entry})
        audio = load_audio(Path(demo_dir) / entry["file"], max_seconds=None)
        added = add_clip(session, store, audio, name=entry["file"].split("/")[-1],
                         origin=ClipOrigin.DEMO, dataset=dataset, system=system,
                         reference_clip_id=ids.get(entry.get("reference", "")),
                         condition=condition)
        ids[entry["file"]] = added.clip_id
    return sum(len(d.members) for d in datasets.values())
