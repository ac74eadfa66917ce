"""``python -m benchmarks.sqa_learning --speed-only`` rewrites only the speed lines."""

from __future__ import annotations

from pathlib import Path

from benchmarks.sqa_report import update_speed, write_report

ROW = {"init": "pretrained", "votes": 1000, "steps": 60, "seconds": 10.0, "utt_LCC": 0.8,
       "utt_SRCC": 0.8, "sys_LCC": 0.8, "sys_SRCC": 0.8}
BASE = {"utt_LCC": 0.5, "utt_SRCC": 0.5, "sys_LCC": 0.5, "sys_SRCC": 0.5}


def test_update_speed_keeps_the_rest(tmp_path: Path) -> None:
    result = {"rows": [ROW], "baselines": {"dnsmos_ovrl": BASE, "dnsmos_p808": BASE},
              "speed": {"batched": 3.5, "single": 0.5, "batched_per_cpu_second": 17.0,
                        "single_per_cpu_second": 3.0},
              "times": {"pool": 0.0, "speed": 139.0}, "train_clips": 10, "test_clips": 5,
              "train_conditions": 2, "test_conditions": 1, "latent_range": (1.0, 4.0),
              "wall_minutes": 1.0}
    context = {"settings": {"conditions": 3, "clips": 5, "listeners": 4, "test_votes": 2,
                            "epochs": 1, "jobs": 2, "speed_clips": 64},
               "tune": {"batch_size": 16, "lr": 1e-3, "max_seconds": 1.5, "tau": 0.25},
               "seed": 7, "init": "m", "date": "2026-12-01", "cpu": "x86_64", "torch": "2"}
    path = tmp_path / "r.md"
    before = write_report(result, context, path).split("\n")
    assert any("3.5 clips/s" in line for line in before)
    result["speed"] = {"batch": 32, "clips": 256, "clips_48k": 64, "clips_single": 32,
                       "batched": 120.0, "batched_48k": 100.0, "single": 20.0,
                       "batched_per_cpu_second": 60.0, "batched_48k_per_cpu_second": 50.0,
                       "single_per_cpu_second": 10.0, "load_before": 1.0, "load_after": 1.5}
    result["times"]["speed"] = 20.0
    after = update_speed(path, result, "2026-12-02").split("\n")
    assert path.read_text(encoding="utf-8").split("\n") == after
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert len(changed) == 3
    speed, settings, times = (b for _, b in changed)
    assert speed.startswith("- >= 100 clips of 4 s per second on 2 threads: met")
    assert "120.0 clips/s" in speed and "load average 1.0" in speed and "2026-12-02" in speed
    assert settings.startswith("- Speed: 256 clips of 4 s at 16 kHz and 64 at 48 kHz")
    assert times.endswith("speed 20.")
