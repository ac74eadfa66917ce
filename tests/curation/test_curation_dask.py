"""Scoring on a Dask cluster (a LocalCluster of 2 worker processes, as a real scheduler
would run it) gives the same table as scoring in this process."""

from __future__ import annotations

import pandas as pd
import pytest

from curation.inputs import read_folder
from curation.metrics import parse_groups
from curation.scoring import ScoreOptions, score_corpus
from curation.store import read_scores
from tests.curation.corpus import write_corpus

distributed = pytest.importorskip("distributed", reason="dask[distributed] is not installed")

#: Work time differs from one run to the next; everything else must be equal.
TIMING = ["score_seconds"]


def test_local_cluster_of_two_workers_gives_the_same_table_as_a_local_run(tmp_path):
    files = read_folder(write_corpus(tmp_path / "corpus") and tmp_path / "corpus")
    options = ScoreOptions(groups=parse_groups("vad,snr,sqa"))
    local = score_corpus(files, tmp_path / "local", options, progress=False)
    assert local.scored == 6 and not local.failed
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        report = score_corpus(files, tmp_path / "dask", options,
                              scheduler=cluster.scheduler_address, progress=False)
    assert report.scored == 6 and not report.failed
    a = read_scores(tmp_path / "local").drop(columns=TIMING)
    b = read_scores(tmp_path / "dask").drop(columns=TIMING)
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-6)
