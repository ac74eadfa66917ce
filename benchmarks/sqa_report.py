"""The report of the SQA learning-curve benchmark: a Markdown table, settings, targets, plot."""

from __future__ import annotations

from pathlib import Path

#: The issue's targets.
TARGET_LCC_GAIN = 0.1
TARGET_VOTES = 1000
TARGET_CLIPS_PER_SECOND = 100.0


def _fmt(value: float) -> str:
    return f"{value:.3f}"


def table(result: dict) -> str:
    lines = ["| model | votes | steps | utt LCC | utt SRCC | sys LCC | sys SRCC | train s |",
             "|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        lines.append(f"| {r['init']} | {r['votes']} | {r['steps']} | {_fmt(r['utt_LCC'])} | "
                     f"{_fmt(r['utt_SRCC'])} | {_fmt(r['sys_LCC'])} | {_fmt(r['sys_SRCC'])} "
                     f"| {r['seconds']:.0f} |")
    for name, label in (("dnsmos_ovrl", "DNSMOS OVRL"), ("dnsmos_p808", "DNSMOS P.808")):
        b = result["baselines"][name]
        lines.append(f"| {label} (zero-shot) | - | - | {_fmt(b['utt_LCC'])} | "
                     f"{_fmt(b['utt_SRCC'])} | {_fmt(b['sys_LCC'])} | {_fmt(b['sys_SRCC'])} "
                     "| - |")
    return "\n".join(lines)


def targets(result: dict) -> list[str]:
    """One line per target of the issue: met or not, with the numbers."""
    dns = result["baselines"]["dnsmos_ovrl"]["utt_LCC"]
    tuned = [r for r in result["rows"] if r["init"] == "pretrained"
             and r["votes"] == TARGET_VOTES]
    lines = []
    if tuned:
        gain = tuned[0]["utt_LCC"] - dns
        met = "met" if gain >= TARGET_LCC_GAIN else "NOT met"
        lines.append(f"- Utterance LCC beyond DNSMOS OVRL by >= {TARGET_LCC_GAIN} after "
                     f"{TARGET_VOTES} votes: {met} ({_fmt(tuned[0]['utt_LCC'])} vs "
                     f"{_fmt(dns)}, {gain:+.3f}).")
    lines.append(speed_line(result["speed"]))
    return lines


def speed_line(sp: dict) -> str:
    """The speed target's line of the report."""
    met = "met" if sp["batched"] >= TARGET_CLIPS_PER_SECOND else "NOT met"
    text = (f"- >= {TARGET_CLIPS_PER_SECOND:g} clips of 4 s per second on 2 threads: "
            f"{met} on this shared machine ({sp['batched']:.1f} clips/s of wall time in "
            f"batches of {sp.get('batch', 32)}")
    if "batched_48k" in sp:
        text += f", {sp['batched_48k']:.1f} from 48 kHz input"
    text += (f"; {sp['single']:.1f} one by one). Per CPU-second used: "
             f"{sp['batched_per_cpu_second']:.0f} clips batched, "
             f"{sp['single_per_cpu_second']:.0f} one by one, so two idle cores would "
             f"give at most {2 * sp['batched_per_cpu_second']:.0f} clips/s")
    if "load_before" in sp:
        busy = max(sp["load_before"], sp["load_after"]) > 2.5  # more than its own 2 threads
        text += (f" (load average {sp['load_before']:.1f} before and "
                 f"{sp['load_after']:.1f} after the measurement on 2 cores"
                 + (", so the wall-time figures are pessimistic)" if busy else
                    ", about its own two threads: the machine was otherwise nearly idle)"))
    return text + "."


def speed_settings(sp: dict, clips: int) -> str:
    """The speed measurement's line of the settings."""
    if "clips_48k" not in sp:  # a report from before batched prediction
        return (f"- Speed: {clips} clips of 4 s at 16 kHz, log-mel features and model, "
                "`torch.set_num_threads(2)`.")
    return (f"- Speed: {sp['clips']} clips of 4 s at 16 kHz and {sp['clips_48k']} at 48 kHz "
            "(resampled), log-mel features and model, `sqa.predict.predict_batch` in "
            f"batches; {sp['clips_single']} at 16 kHz one by one (`sqa.predict.predict`); "
            "`torch.set_num_threads(2)`, random noise as audio.")


def update_speed(path: Path, result: dict, day: str) -> str:
    """Replace the speed lines of an existing report (``--speed-only``); the rest stays."""
    if not path.is_file() or "rows" not in result:
        raise FileNotFoundError(f"no full report at {path} to update: run the whole "
                                "benchmark first")
    lines = path.read_text(encoding="utf-8").split("\n")
    for i, line in enumerate(lines):
        if line.startswith(f"- >= {TARGET_CLIPS_PER_SECOND:g} clips of 4 s"):
            lines[i] = speed_line(result["speed"]) + f" Speed remeasured on {day} " \
                "(`--speed-only`)."
        elif line.startswith("- Speed:"):
            lines[i] = speed_settings(result["speed"], result["speed"]["clips"])
        elif line.startswith("Stage times (s):"):
            lines[i] = stage_times(result["times"])
    text = "\n".join(lines)
    path.write_text(text, encoding="utf-8")
    return text


def stage_times(times: dict) -> str:
    return "Stage times (s): " + ", ".join(
        f"{k} {'0 (made by an earlier run, cached)' if v < 1 else f'{v:.0f}'}"
        for k, v in times.items()) + "."


def plot(result: dict, path: Path) -> Path | None:
    """Utterance LCC against votes, with DNSMOS as lines; None without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, marker in (("pretrained", "o"), ("scratch", "s")):
        rows = [r for r in result["rows"] if r["init"] == name and r["votes"] > 0]
        ax.plot([r["votes"] for r in rows], [r["utt_LCC"] for r in rows], marker=marker,
                label=f"fine-tuned from {name}")
    for name, style in (("dnsmos_ovrl", "--"), ("dnsmos_p808", ":")):
        ax.axhline(result["baselines"][name]["utt_LCC"], linestyle=style, color="grey",
                   label=f"{name} zero-shot")
    shipped = [r for r in result["rows"] if r["votes"] == 0]
    if shipped:
        ax.axhline(shipped[0]["utt_LCC"], linestyle="-.", color="tab:blue", alpha=0.5,
                   label="pretrained, no votes")
    budgets = sorted({r["votes"] for r in result["rows"] if r["votes"] > 0})
    ax.set_xscale("log")
    ax.set_xticks(budgets, labels=[str(b) for b in budgets])
    ax.minorticks_off()
    ax.set_xlabel("training votes")
    ax.set_ylabel("utterance LCC, held-out conditions")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_report(result: dict, context: dict, path: Path | None) -> str:
    """The Markdown report; written to ``path`` (with a PNG beside it) when given."""
    s, t = context["settings"], context["tune"]
    low, high = result["latent_range"]
    text = "\n".join([
        "# SQA learning curve (simulated listeners)", "",
        f"`python -m benchmarks.sqa_learning`, {context['date']}, {context['cpu']}, "
        f"torch {context['torch']}, 2 threads, niced beside a running training job "
        f"(wall time {result['wall_minutes']:.1f} min).", "",
        table(result), "",
        *targets(result), "",
        "## Settings", "",
        f"- Pool: {s['conditions']} synthetic conditions x {s['clips']} espeak-ng clips of "
        f"4.8 s (seed {context['seed']}; ranges of `conf/sqa/pretrain.yaml`, other voices, "
        f"noise and conditions than pretraining); {result['train_conditions']} training "
        f"conditions ({result['train_clips']} clips), {result['test_conditions']} held-out "
        f"conditions ({result['test_clips']} clips). Latent quality {low:.2f}-{high:.2f}.",
        f"- Listeners: {s['listeners']} simulated (`benchmarks/sqa_listeners.py`); "
        f"held-out MOS = mean of {s['test_votes']} votes per clip; training votes spread "
        "evenly over the training clips, the smaller budgets being the first votes.",
        f"- Fine-tuning: `sqa.train.train` on one row per voted clip (the mean of its votes; "
        f"every training clip has a vote at each budget), {s['epochs']} epochs, batch "
        f"{t['batch_size']}, lr {t['lr']}, crops of {t['max_seconds']} s, tau {t['tau']}, "
        f"the same for both starts, {s['jobs']} runs at a time in single-thread processes; "
        f"pretrained = `{context['init']}`, scratch = the same compact "
        "architecture, random weights. The `pretrained, 0 votes` row is the checkpoint "
        "as shipped.",
        "- System level: means per condition over the held-out conditions.",
        speed_settings(result["speed"], s["speed_clips"]), "",
        stage_times(result["times"]), ""])
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        png = plot(result, path.with_suffix(".png"))
        if png is not None:
            text += f"\n![learning curve]({png.name})\n"
        path.write_text(text, encoding="utf-8")
    return text
