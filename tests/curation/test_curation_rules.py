"""Rule files: strict checking (one line per problem) and what a rule set keeps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from curation.rules import RuleError, load_rules, parse_rules
from curation.selection import select, summary

CONF = Path(__file__).resolve().parents[2] / "conf" / "curation"


def _table() -> pd.DataFrame:
    return pd.DataFrame({
        "id": ["a1", "a2", "a3", "a4", "b1", "b2", "b3", "b4", "bad"],
        "source": ["a"] * 4 + ["b"] * 4 + ["b"],
        "path": [f"/x/{i}.wav" for i in range(9)],
        "duration_s": [3600.0] * 8 + [np.nan],
        "sample_rate": [16000.0] * 8 + [np.nan],
        "speech_ratio": [0.9, 0.1, 0.8, 0.7, 0.9, 0.9, 0.9, np.nan, np.nan],
        "snr_db": [40.0, 40.0, 10.0, 35.0, 20.0, 30.0, 40.0, 50.0, np.nan],
        "dnsmos_bak": [4.0, 4.0, 2.0, 3.5, 2.5, 2.9, 3.1, 3.3, np.nan],
        "bandwidth_rate": [16000.0, 8000.0, 16000.0, 16000.0, 16000.0, 16000.0, 16000.0,
                           16000.0, np.nan],
        "error": [""] * 8 + ["not decoded: bad.wav: not a readable audio file"],
    })


@pytest.mark.parametrize("name", ["urgent2025", "workbench"])
def test_shipped_rule_sets_load(name):
    rules = load_rules(CONF / f"{name}.yaml")
    assert rules.name == name
    assert rules.thresholds()


def test_urgent2025_is_the_published_filter():
    rules = load_rules(CONF / "urgent2025.yaml")
    bounds = {t.metric: t.min for t in rules.thresholds()}
    assert bounds == {"speech_ratio": 0.2, "dnsmos_sig": 3.0, "dnsmos_bak": 3.0,
                      "dnsmos_ovrl": 3.0}
    assert rules.root.mode == "all"


def test_malformed_rule_file_gives_one_line_per_problem(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: x\nthreshold: 3\nrules:\n"
        "  - {metric: speech_ratio, min: high}\n"
        "  - {metric: loudness, min: 1}\n"
        "  - {metric: snr_db, min: 30, max: 10}\n"
        "  - {metric: sqa_mos, min_quantile: 1.5}\n"
        "  - {metric: snr_db, minimum: 3}\n"
        "  - any: []\n")
    with pytest.raises(RuleError) as caught:
        load_rules(bad)
    problems = caught.value.problems
    assert len(problems) == 7, problems
    assert all("\n" not in p for p in problems)
    text = "\n".join(problems)
    assert "unknown key 'threshold'" in text
    assert "rules[0].min: expected a number, got str 'high'" in text
    assert "unknown metric 'loudness'" in text
    assert "min 30 is above max 10" in text
    assert "rules[3].min_quantile: 1.5 is outside 0..1" in text
    assert "unknown key 'minimum'" in text
    assert "rules[5].any: expected a non-empty list" in text


def test_broken_yaml_and_missing_file_are_one_line(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules: [\n  - {metric: snr_db\n")
    with pytest.raises(RuleError) as caught:
        load_rules(broken)
    assert len(caught.value.problems) == 1 and "not valid YAML" in caught.value.problems[0]
    with pytest.raises(RuleError, match="cannot read the rule file"):
        load_rules(tmp_path / "none.yaml")


def test_thresholds_quantiles_sources_and_combinations():
    rules = parse_rules({
        "name": "t", "rules": [
            {"metric": "speech_ratio", "min": 0.2},
            {"metric": "dnsmos_bak", "min_quantile": 0.25, "sources": ["b"]},
            {"any": [{"metric": "snr_db", "min": 30}, {"metric": "dnsmos_bak", "min": 3.8}],
             "name": "quiet"},
        ]})
    selection = select(_table(), rules)
    t = selection.table.set_index("id")
    assert list(t.index[t["kept"]]) == ["a1", "a4", "b2", "b3"]
    assert t.loc["a2", "reason"] == "speech_ratio >= 0.2"
    assert t.loc["a3", "reason"].startswith("quiet: none of: snr_db >= 30 | dnsmos_bak >= 3.8")
    # b's 25 % quantile of BAK over its decoded files (2.5, 2.9, 3.1, 3.3) is 2.8
    assert "dnsmos_bak >= its source's q0.25 (sources b)" in t.loc["b1", "reason"]
    assert t.loc["b4", "reason"] == "speech_ratio missing"
    assert t.loc["bad", "reason"].startswith("not scored: not decoded")
    quantile = [b for b in selection.bounds if b.metric == "dnsmos_bak" and b.source == "b"
                and b.low is not None and b.low < 3.8]
    assert quantile[0].low == pytest.approx(2.8)
    per_source = summary(selection).set_index("source")
    assert per_source.loc["a", "files_kept"] == 2 and per_source.loc["b", "files_in"] == 5
    assert per_source.loc["all", "hours_kept"] == pytest.approx(4.0)


def test_missing_keep_lets_files_without_the_metric_pass():
    rules = parse_rules({"missing": "keep", "rules": [{"metric": "speech_ratio", "min": 0.2}]})
    kept = set(select(_table(), rules).kept["id"])
    assert "b4" in kept and "a2" not in kept and "bad" not in kept


def test_rule_set_round_trips_through_yaml(tmp_path):
    rules = load_rules(CONF / "workbench.yaml")
    copy = tmp_path / "copy.yaml"
    copy.write_text(rules.to_yaml())
    assert load_rules(copy) == rules
