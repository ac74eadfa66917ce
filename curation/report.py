"""The report of a selection: per source, files and hours in and out, and a histogram of
every metric a rule tests, per source, with its thresholds drawn (``histograms.png``), in
``report.md``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from curation.selection import Selection, summary


def histogram_png(selection: Selection, path: Path) -> Path | None:
    """One row of histograms per tested metric, one colour per source, dashed lines at the
    thresholds (per source when they differ, e.g. quantiles)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = list(dict.fromkeys(b.metric for b in selection.bounds))
    if not metrics:
        return None
    table = selection.table
    sources = sorted(table["source"].astype(str).unique())
    colours = {s: plt.get_cmap("tab10")(i % 10) for i, s in enumerate(sources)}
    cols = min(3, len(metrics))
    rows = int(np.ceil(len(metrics) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.4 * rows), squeeze=False)
    for ax, metric in zip(axes.flat, metrics, strict=False):
        values = table[metric].astype(float) if metric in table else None
        if values is None or values.dropna().empty:
            ax.set_title(f"{metric}: no values")
            continue
        edges = np.histogram_bin_edges(values.dropna(), bins=30)
        for source in sources:
            v = values[table["source"].astype(str) == source].dropna()
            ax.hist(v, bins=edges, alpha=0.55, color=colours[source], label=source)
        for label in dict.fromkeys(b.label for b in selection.bounds if b.metric == metric):
            bounds = [b for b in selection.bounds if b.label == label]
            same = len({(b.low, b.high) for b in bounds}) == 1  # a fixed value: one black line
            for b in bounds[:1] if same else bounds:
                for x in (b.low, b.high):
                    if x is not None:
                        ax.axvline(x, color="k" if same else colours.get(b.source, "k"),
                                   linestyle="--", lw=1.5)
        ax.set_title(metric)
        ax.set_ylabel("files")
    for ax in list(axes.flat)[len(metrics):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8)
    fig.suptitle(f"rule set {selection.rules.name}: dashed lines are thresholds (black: the "
                 f"same for every source, coloured: per source)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def write_report(selection: Selection, out: Path) -> Path:
    """``report.md`` (and ``histograms.png``) under ``out``."""
    table = summary(selection)
    lines = [f"# Curation report: rule set `{selection.rules.name}`", ""]
    if selection.rules.description:
        lines += [selection.rules.description, ""]
    lines += ["| source | files in | hours in | files kept | hours kept | kept |",
              "|---|---|---|---|---|---|"]
    for r in table.itertuples():
        lines.append(f"| {r.source} | {r.files_in} | {r.hours_in:.3f} | {r.files_kept} | "
                     f"{r.hours_kept:.3f} | {100 * r.kept_share:.0f} % |")
    reasons = selection.dropped["reason"].str.split("; ").explode().value_counts()
    if len(reasons):
        lines += ["", "Why files were dropped (a file can fail several rules):", "",
                  "| rule | files |", "|---|---|"]
        lines += [f"| {reason} | {count} |" for reason, count in reasons.items()]
    if histogram_png(selection, out / "histograms.png") is not None:
        lines += ["", "![histograms with thresholds](histograms.png)"]
    (out / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out / "report.md"
