"""The MUSHRA set of the API and browser tests: six demo inputs (16 kHz and above, one per
utterance, so both low-pass anchors apply) enhanced by three DSP systems, as the dataset
``mushra-demo`` of the shared app; made once per app, whichever test needs it first."""

from __future__ import annotations

from sqlalchemy import select

SYSTEMS = ["unprocessed", "mmse_lsa", "spectral_gating", "wpe"]
INPUTS = ["u02_de_16k_clipping.flac", "u03_fr_22k_reverb_noise-babble.flac",
          "u04_es_24k_noise-pink.flac", "u05_it_32k_clipping.flac",
          "u06_pt-br_44k_reverb_noise-hum.flac", "u07_nl_48k_noise-brown.flac"]
DATASET = "mushra-demo"


def mushra_library(app_server):
    """The app's database (a session factory; dispose its engine when done) with the
    ``mushra-demo`` dataset and every system's output of its inputs."""
    from db.models import Clip, DatasetClip
    from db.session import create_db_engine, make_session_factory, sqlite_url
    from db.store import AudioStore
    from library.clips import get_or_create_dataset
    from library.comparison import enhance_clip
    from se.systems.registry import get_system

    engine = create_db_engine(sqlite_url(app_server.data_dir / "workbench.db"))
    sessions = make_session_factory(engine)
    store = AudioStore(app_server.data_dir / "audio")
    with sessions.begin() as session:
        dataset = get_or_create_dataset(session, DATASET)
        session.flush()
        present = set(session.scalars(select(DatasetClip.name).where(
            DatasetClip.dataset_id == dataset.id)))
        ids = []
        for name in INPUTS:
            clip = session.scalar(select(Clip).where(Clip.name == name))
            if name not in present:
                session.add(DatasetClip(dataset_id=dataset.id, clip_id=clip.id, name=name))
            ids.append(clip.id)
    for system in SYSTEMS[1:]:
        for clip_id in ids:
            enhance_clip(sessions, store, clip_id, get_system(system))  # cached after once
    return sessions, engine
