"""Train the SE model on a lent GPU machine within one 10-minute call.

    python -m se.gpu_recipe prepare                 # here, once: speech pool and wheels
    python -m se.gpu_recipe train --out "$OUT"      # there, in the device call

The GPU machine starts bare, reaches no network and has neither espeak-ng nor some of our
packages, so ``prepare`` puts what it lacks into ``.gpu_carry/`` (ignored by git, carried
by the device tool): the espeak-ng utterance pool of ``conf/simulation/se_train.yaml`` as
FLAC files with a ``wav.scp``, a simulation YAML that reads speech from that list instead of
calling espeak-ng, and the wheels of soxr and soundfile (with cffi and pycparser) for the
machine's Python 3.12. ``train`` runs ``se.train`` on ``conf/se/urgent_gpu.yaml`` (stopping
by ``max_seconds``), exports the last step to ``OUT/bandsplit_gpu.pt`` and copies the
training log and config beside it: what the device tool brings back. The README's Track 1
section gives the exact device call.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CARRY = Path(".gpu_carry")
CONFIG = Path("conf/se/urgent_gpu.yaml")
SIMULATION = Path("conf/simulation/se_train.yaml")
#: Wheels the GPU machine lacks (its image has torch, numpy, scipy, pyyaml, tqdm).
WHEELS = ("soxr==1.1.0", "soundfile==0.14.0", "cffi==2.1.1", "pycparser==3.12")
GPU_PYTHON = "3.12"
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64",
             "manylinux2014_x86_64", "manylinux1_x86_64")
EXPORTED = "bandsplit_gpu.pt"


def _ignore_in_git(path: Path) -> None:
    """Add ``/path/`` to the repository's info/exclude (shared by its worktrees)."""
    common = subprocess.run(["git", "rev-parse", "--git-common-dir"], capture_output=True,
                            text=True, check=True, cwd=ROOT).stdout.strip()
    exclude = (ROOT / common / "info" / "exclude").resolve()
    line = f"/{path.as_posix()}/"
    text = exclude.read_text() if exclude.exists() else ""
    if line not in text.splitlines():
        exclude.parent.mkdir(parents=True, exist_ok=True)
        exclude.write_text(text + ("" if text.endswith("\n") or not text else "\n")
                           + line + "\n")


def prepare(carry: Path = CARRY, simulation: Path = SIMULATION) -> dict:
    """Write the speech pool, the simulation YAML and the wheels into ``carry``."""
    from tqdm import tqdm

    from audio.io import save_audio
    from audio.tts import speak
    from se.simulation import SimulationConfig
    from se.simulation.sources import synthetic_speech_items

    config = SimulationConfig.from_yaml(simulation)
    speech_dir = carry / "speech"
    speech_dir.mkdir(parents=True, exist_ok=True)
    lines = []
    for item in tqdm(synthetic_speech_items(config), desc="espeak-ng pool"):
        path = speech_dir / f"{item.id}.flac"
        if not path.exists():
            samples, rate = speak(item.text, item.voice())
            save_audio(path, samples, rate)
        lines.append(f"{item.id} {path.as_posix()}")
    (carry / "speech.scp").write_text("\n".join(lines) + "\n")
    values = yaml.safe_load(Path(simulation).read_text())
    values.setdefault("sources", {})["speech"] = (carry / "speech.scp").as_posix()
    (carry / "simulation.yaml").write_text(
        f"# {simulation} with speech read from files (made by python -m se.gpu_recipe "
        "prepare)\n" + yaml.safe_dump(values, sort_keys=False))
    wheels = carry / "wheels"
    wheels.mkdir(exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps",
               "--only-binary=:all:", "--python-version", GPU_PYTHON, "--implementation",
               "cp", *(arg for p in PLATFORMS for arg in ("--platform", p)), "-d",
               str(wheels), *WHEELS]
    subprocess.run(command, check=True)
    _ignore_in_git(carry)
    size = sum(f.stat().st_size for f in carry.rglob("*") if f.is_file())
    return {"utterances": len(lines), "carry": str(carry), "megabytes": round(size / 1e6, 1)}


def train_and_export(out: Path, config: Path = CONFIG, run_dir: Path = Path("/tmp/gpu_run"),
                     overrides: dict | None = None) -> dict:
    """Train from ``config`` into ``run_dir``, export the last step and copy the log to
    ``out``; returns a summary (also written to ``out/summary.json``)."""
    import torch

    from se.export import export_checkpoint
    from se.train import LAST_FILE, LOG_FILE, TrainConfig, train

    values = yaml.safe_load(Path(config).read_text())
    values.update(overrides or {})
    cfg = TrainConfig.from_dict(values)
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    started = time.monotonic()
    result = train(cfg, run_dir, progress=False)
    seconds = time.monotonic() - started
    out.mkdir(parents=True, exist_ok=True)
    note = (f"{config} on {device}: {result['step']} steps in {seconds:.0f} s "
            f"(python -m se.gpu_recipe train)")
    export_checkpoint(run_dir / LAST_FILE, out / EXPORTED, note=note)
    for name in (LOG_FILE, "config.yaml"):
        shutil.copy(run_dir / name, out / name)
    summary = {"device": device, "steps": result["step"], "seconds": round(seconds, 1),
               "steps_per_second": round(result["step"] / seconds, 2),
               "torch": str(torch.__version__), "python": platform.python_version(),
               "config": str(config), "overrides": overrides or {}}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m se.gpu_recipe",
                                     description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    prep = sub.add_parser("prepare", help="write .gpu_carry/ here (espeak-ng pool, wheels)")
    prep.add_argument("--carry", type=Path, default=CARRY)
    run = sub.add_parser("train", help="train and export into --out (on the GPU machine)")
    run.add_argument("--out", type=Path, required=True)
    run.add_argument("--config", type=Path, default=CONFIG)
    run.add_argument("--run-dir", type=Path, default=Path("/tmp/gpu_run"))
    run.add_argument("--max-steps", type=int, help="override (smoke runs on a CPU)")
    run.add_argument("--max-seconds", type=float, help="override")
    run.add_argument("--batch-size", type=int, help="override")
    run.add_argument("--workers", type=int, help="override data.workers")
    args = parser.parse_args(argv)
    if args.command == "prepare":
        print(json.dumps(prepare(args.carry)))
        return 0
    if not (CARRY / "simulation.yaml").exists() and args.config == CONFIG:
        print(f"error: {CARRY}/simulation.yaml is missing: run python -m se.gpu_recipe "
              "prepare here and carry .gpu_carry", file=sys.stderr)
        return 2
    values = yaml.safe_load(args.config.read_text())
    overrides: dict = {}
    for key, value in (("max_steps", args.max_steps), ("max_seconds", args.max_seconds),
                       ("batch_size", args.batch_size)):
        if value is not None:
            overrides[key] = value
    if overrides.get("max_steps", 10**9) <= values.get("warmup_steps", 0):
        overrides["warmup_steps"] = overrides["max_steps"] // 10  # a shortened smoke run
    if args.workers is not None:
        overrides["data"] = {**values.get("data", {}), "workers": args.workers}
    print(json.dumps(train_and_export(args.out, args.config, args.run_dir, overrides)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
