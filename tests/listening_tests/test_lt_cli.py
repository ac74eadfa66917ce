"""``python -m listening_tests``: create prints the id; a bad spec is one line and exit 2."""

from __future__ import annotations

import subprocess
import sys

import yaml
from sqlalchemy import select

from db.models import ListeningTest
from listening_tests.__main__ import main
from tests.listening_tests.rating_lab import make_lab
from tests.server import REPO


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "listening_tests", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60)


def test_create_prints_the_id_and_a_bad_spec_fails_in_one_line(tmp_path, capsys):
    lab = make_lab(tmp_path)
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({"name": "from the CLI", "clips": {"dataset": "demo"},
                                    "votes_per_clip": 3, "platform": "prolific"}))
    done = cli("create", "--spec", str(spec), "--data-dir", str(lab.data_dir), "--open")
    assert done.returncode == 0, done.stderr
    test_id = int(done.stdout.strip())
    with lab.sessions() as db:
        test = db.scalar(select(ListeningTest).where(ListeningTest.id == test_id))
        assert (test.name, test.status) == ("from the CLI", "open")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nclips: {dataset: nope}\nvotes_per_clip: -1\n")
    done = cli("create", "--spec", str(bad), "--data-dir", str(lab.data_dir))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: the test spec has 1 problem: votes_per_clip: must be")
    # The other refusals and commands, in-process (same code, no interpreter start-up).
    bad.write_text("name: x\nclips: {dataset: nope}\n")
    assert main(["create", "--spec", str(bad), "--data-dir", str(lab.data_dir)]) == 2
    assert "clips.dataset: no dataset named 'nope'" in capsys.readouterr().err
    bad.write_text("name: [unclosed\n")
    assert main(["create", "--spec", str(bad), "--data-dir", str(lab.data_dir)]) == 2
    assert "bad.yaml: not valid YAML at line 2" in capsys.readouterr().err
    assert main(["close", str(test_id), "--data-dir", str(lab.data_dir)]) == 0
    assert main(["list", "--data-dir", str(lab.data_dir)]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith(f"{test_id}\tclosed\t")
    out = tmp_path / "out"
    assert main(["export", str(test_id), "votes_per_clip.csv", "--out", str(out),
                 "--data-dir", str(lab.data_dir)]) == 0
    assert (out / "votes_per_clip.csv").read_text().startswith(
        "file_url,n,MOS,std,95%CI,short_file_name,condition")
    assert main(["open", "99", "--data-dir", str(lab.data_dir)]) == 2
    assert capsys.readouterr().err == "error: there is no listening test with id 99\n"
    with lab.sessions() as db:
        assert len(db.scalars(select(ListeningTest)).all()) == 1
