"""Plotly figures of results: bars with confidence intervals, box plots, and the rankings,
win matrices and rank agreement of comparison listening tests."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from audio.metrics import METRICS


def _axis_title(metric: str) -> str:
    info = METRICS.get(metric)
    if info is None:
        return metric
    arrow = "higher is better" if info.higher_is_better else "lower is better"
    unit = f" ({info.unit})" if info.unit else ""
    return f"{metric}{unit}, {arrow}"


def bars_with_ci(summary: pd.DataFrame, metric: str, *, x: str = "system",
                 color: str | None = None, title: str = "",
                 value_range: tuple[float, float] | None = None) -> go.Figure:
    """Mean of ``metric`` per ``x`` with 95% CI error bars (columns ``<metric>_mean`` and
    ``<metric>_ci95`` from ``library.comparison.summarize``); ``color`` splits the bars.
    ``value_range``: the rating scale (e.g. 1..5): the axis shows it whatever the intervals
    (a wide CI of one rater would otherwise stretch it to -20..30)."""
    fig = go.Figure()
    groups = [(None, summary)] if color is None else list(summary.groupby(color, sort=True))
    for name, frame in groups:
        fig.add_bar(x=frame[x].astype(str), y=frame[f"{metric}_mean"], name=str(name or metric),
                    error_y=dict(type="data", array=frame[f"{metric}_ci95"].fillna(0),
                                 visible=True),
                    customdata=frame[[f"{metric}_ci95", f"{metric}_n"]],
                    hovertemplate="%{x}: %{y:.3f} ± %{customdata[0]:.3f} "
                                  "(n=%{customdata[1]})<extra>%{fullData.name}</extra>")
    fig.update_layout(barmode="group", title=dict(text=title) if title else None, height=380,
                      margin=dict(l=60, r=20, t=40 if title else 10, b=60),
                      yaxis=dict(title=dict(text=_axis_title(metric))),
                      showlegend=color is not None)
    if value_range is not None:
        low, high = value_range
        fig.update_yaxes(range=[low - 0.1, high + 0.1] if low < 0 else [0, high + 0.1])
    return fig


def box_by_system(results: pd.DataFrame, metric: str, *, title: str = "") -> go.Figure:
    """Distribution of ``metric`` over clips, one box per system, every clip as a point."""
    fig = go.Figure()
    for system, frame in results.groupby("system", sort=True):
        fig.add_box(y=frame[metric], name=str(system), boxpoints="all", jitter=0.4,
                    pointpos=0, text=frame["input"],
                    hovertemplate="%{text}: %{y:.3f}<extra>%{fullData.name}</extra>")
    fig.update_layout(title=dict(text=title) if title else None, height=380,
                      margin=dict(l=60, r=20, t=40 if title else 10, b=60),
                      yaxis=dict(title=dict(text=_axis_title(metric))), showlegend=False)
    return fig


# Comparison tests (CCR, A/B, ranking): figures on the frames of docs/rating-api.md "Results".

RANKING_COLUMNS = ["system", "strength", "ci_low", "ci_high", "rank", "n_comparisons",
                   "preliminary"]


def ccr_ranking(systems: pd.DataFrame) -> pd.DataFrame:
    """CCR ``systems`` rows (``system, n, cmos, std, ci95, p_value``) as a ranking frame:
    ``strength`` is the CMOS (processed versus reference), the interval CMOS ± ci95, rank 1
    the highest CMOS (ties share the best rank). A system with under two votes has no interval
    and is preliminary."""
    frame = systems.copy()
    cmos = pd.to_numeric(frame["cmos"], errors="coerce")
    ci95 = pd.to_numeric(frame["ci95"], errors="coerce")
    n = pd.to_numeric(frame["n"], errors="coerce").fillna(0).astype(int)
    out = pd.DataFrame({"system": frame["system"].astype(str), "strength": cmos,
                        "ci_low": cmos - ci95, "ci_high": cmos + ci95,
                        "rank": cmos.rank(ascending=False, method="min"),
                        "n_comparisons": n, "preliminary": n < 2})
    return ordered_ranking(out)


def ordered_ranking(ranking: pd.DataFrame) -> pd.DataFrame:
    """The ranking frame (``RANKING_COLUMNS``), best first: by strength, highest first, and by
    system name among equals; missing optional columns are filled in."""
    frame = ranking.copy()
    frame["system"] = frame["system"].astype(str)
    frame["strength"] = pd.to_numeric(frame["strength"], errors="coerce")
    for column in ("ci_low", "ci_high"):
        frame[column] = pd.to_numeric(frame.get(column, frame["strength"]), errors="coerce")
    if "rank" not in frame:
        frame["rank"] = frame["strength"].rank(ascending=False, method="min")
    if "n_comparisons" not in frame:
        frame["n_comparisons"] = 0
    frame["preliminary"] = frame.get("preliminary", False)
    frame["preliminary"] = frame["preliminary"].fillna(False).astype(bool)
    frame = frame.sort_values(["strength", "system"], ascending=[False, True],
                              na_position="last", kind="mergesort")
    return frame.reset_index(drop=True)


def pairs_lookup(pairs: pd.DataFrame, x: str, y: str) -> dict | None:
    """The row of the pairs table (``system_a, system_b, ...``) for systems x and y, in either
    order, as a dict with ``share`` turned to x's share; None if the pair was not compared."""
    if pairs is None or not len(pairs):
        return None
    for a, b, flip in ((x, y, False), (y, x, True)):
        rows = pairs[(pairs["system_a"].astype(str) == a) & (pairs["system_b"].astype(str) == b)]
        if len(rows):
            row = rows.iloc[0].to_dict()
            if flip and "share_a" in row and pd.notna(row["share_a"]):
                row["share_a"] = 1.0 - float(row["share_a"])
            return row
    return None


def significance_mark(p: float | None) -> str:
    """Stars for a (Holm-corrected) p: *** < 0.001, ** < 0.01, * < 0.05, else "n.s."."""
    if p is None or pd.isna(p):
        return "?"
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else "n.s."


def neighbour_significance(ranking: pd.DataFrame, pairs: pd.DataFrame | None) -> pd.DataFrame:
    """Whether each system differs from the next one down the ranking, by the Holm-corrected p
    of their A/B pair (``p_holm`` of the pairs table; ``p_value`` where no Holm column).

    Returns:
        One row per neighbour pair, best first: ``better, worse, n, share_better, p_holm,
        mark``; p is NaN and the mark "?" where the two were never compared directly.
    """
    ordered = ordered_ranking(ranking)
    rows = []
    for better, worse in zip(ordered["system"][:-1], ordered["system"][1:], strict=True):
        row = pairs_lookup(pairs, better, worse) if pairs is not None else None
        p = float("nan")
        if row is not None:
            p = row.get("p_holm", row.get("p_value"))
            p = float("nan") if p is None else float(p)
        rows.append({"better": better, "worse": worse,
                     "n": int(row["n"]) if row is not None and "n" in row else 0,
                     "share_better": float(row["share_a"]) if row is not None
                     and "share_a" in row and pd.notna(row["share_a"]) else float("nan"),
                     "p_holm": p, "mark": significance_mark(p)})
    return pd.DataFrame(rows, columns=["better", "worse", "n", "share_better", "p_holm",
                                       "mark"])


def ranking_figure(ranking: pd.DataFrame, *, pairs: pd.DataFrame | None = None,
                   value_label: str = "Bradley-Terry log-strength", title: str = ""
                   ) -> go.Figure:
    """Systems best first (top) with their 95% interval as error bars; preliminary systems
    (too few comparisons) drawn hollow and grey and named so; between neighbours the mark of
    their Holm-corrected pair test when ``pairs`` is given.

    Args:
        ranking: ``RANKING_COLUMNS`` (the server's ``ranking`` or :func:`ccr_ranking`).
        pairs: The A/B pairs table, for the significance marks.
        value_label: Axis title of the strength.
        title: Figure title.
    """
    frame = ordered_ranking(ranking)
    fig = go.Figure()
    labels = [f"{s} (preliminary)" if p else s
              for s, p in zip(frame["system"], frame["preliminary"], strict=True)]
    for preliminary, part in frame.groupby("preliminary", sort=True):
        names = [labels[i] for i in part.index]
        fig.add_scatter(
            x=part["strength"], y=names, mode="markers",
            name="preliminary" if preliminary else "ranked",
            marker=dict(size=12, symbol="circle-open" if preliminary else "circle",
                        color="#8c959f" if preliminary else "#0b5cad"),
            error_x=dict(type="data", symmetric=False, visible=True,
                         array=(part["ci_high"] - part["strength"]).fillna(0).to_numpy(),
                         arrayminus=(part["strength"] - part["ci_low"]).fillna(0).to_numpy()),
            customdata=part[["rank", "ci_low", "ci_high", "n_comparisons"]].to_numpy(),
            hovertemplate="rank %{customdata[0]}: %{y}<br>%{x:.3f} "
                          "[%{customdata[1]:.3f}, %{customdata[2]:.3f}], "
                          "%{customdata[3]} comparisons<extra></extra>")
    marks = neighbour_significance(frame, pairs) if pairs is not None else None
    if marks is not None:
        for k, row in marks.iterrows():  # between rows k and k+1 (category positions)
            fig.add_annotation(x=1.0, xref="paper", xanchor="left", y=k + 0.5, yref="y",
                               text=row["mark"], showarrow=False,
                               hovertext=f"{row['better']} vs {row['worse']}: "
                                         f"p (Holm) = {row['p_holm']:.3g}")
    fig.update_layout(title=dict(text=title) if title else None,
                      height=max(260, 60 + 45 * len(frame)),
                      margin=dict(l=160, r=60, t=40 if title else 10, b=50),
                      xaxis=dict(title=dict(text=f"{value_label}, 95% CI"), zeroline=True),
                      yaxis=dict(categoryorder="array", categoryarray=labels,
                                 autorange="reversed"),
                      showlegend=bool(frame["preliminary"].any()))
    return fig


def win_matrix_frame(win_matrix: dict | pd.DataFrame, systems: list[str] | None = None
                     ) -> pd.DataFrame:
    """The contract's ``win_matrix`` (``{winner: {loser: count}}``) as a square frame, rows
    winners and columns losers in the order of ``systems`` (default: sorted names); absent
    cells are 0."""
    frame = win_matrix if isinstance(win_matrix, pd.DataFrame) else \
        pd.DataFrame(win_matrix).T
    names = set(map(str, frame.index)) | set(map(str, frame.columns))
    order = [str(s) for s in systems] if systems is not None else sorted(names)
    order += sorted(names - set(order))
    frame.index, frame.columns = frame.index.astype(str), frame.columns.astype(str)
    out = frame.reindex(index=order, columns=order).fillna(0.0).astype(float)
    for s in order:
        out.loc[s, s] = 0.0
    out.index.name, out.columns.name = "winner", "loser"
    return out


def win_share(matrix: pd.DataFrame) -> pd.DataFrame:
    """Share of the comparisons of row versus column that row won: ``m / (m + m.T)``; NaN
    where the two were never compared (and on the diagonal)."""
    total = matrix + matrix.T
    return (matrix / total.where(total > 0)).astype(float)


def win_tie_loss(pairs: pd.DataFrame | None, row: str, column: str) -> tuple[int, int, int] | None:
    """How often ``row`` won against, tied with and lost to ``column`` in the A/B pairs table
    (``system_a, system_b, wins_a, wins_b, ties``); None if they were never compared."""
    if pairs is None or not len(pairs):
        return None
    for a, b, flip in ((row, column, False), (column, row, True)):
        found = pairs[(pairs["system_a"].astype(str) == a) & (pairs["system_b"].astype(str) == b)]
        if len(found):
            r = found.iloc[0]
            wins, losses = (int(r["wins_b"]), int(r["wins_a"])) if flip else \
                (int(r["wins_a"]), int(r["wins_b"]))
            return wins, int(r["ties"]), losses
    return None


def win_matrix_figure(win_matrix: dict | pd.DataFrame, systems: list[str] | None = None, *,
                      pairs: pd.DataFrame | None = None,
                      title: str = "Who beat whom (row beat column)") -> go.Figure:
    """Heatmap of the win matrix: colour is the share of the pair's comparisons the row
    system won (0..1, white at 0.5; a tie counts half). With the A/B ``pairs`` table each cell
    says wins, ties and losses of the row system separately ("2 W · 1 T · 0 L"), else the
    count and the share. Pass ``systems`` in ranking order to read it best first."""
    counts = win_matrix_frame(win_matrix, systems)
    share = win_share(counts)

    def label(i: int, j: int) -> str:
        if pd.isna(share.iat[i, j]):
            return ""
        wtl = win_tie_loss(pairs, counts.index[i], counts.columns[j])
        if wtl is not None:
            return f"{wtl[0]} W · {wtl[1]} T · {wtl[2]} L"
        return f"{counts.iat[i, j]:g} ({100 * share.iat[i, j]:.0f}%)"

    text = [[label(i, j) for j in range(counts.shape[1])] for i in range(counts.shape[0])]
    fig = go.Figure(go.Heatmap(
        z=share.to_numpy(), x=list(counts.columns), y=list(counts.index), text=text,
        texttemplate="%{text}", zmin=0.0, zmax=1.0, colorscale="RdBu", reversescale=False,
        colorbar=dict(title=dict(text="share won")), customdata=counts.to_numpy(),
        hovertemplate="%{y} against %{x}: %{text}; share won %{z:.0%} (a tie counts half)"
                      "<extra></extra>"))
    fig.update_layout(title=dict(text=title) if title else None,
                      height=max(300, 120 + 50 * len(counts)),
                      margin=dict(l=140, r=20, t=40 if title else 10, b=100),
                      xaxis=dict(title=dict(text="loser"), side="bottom"),
                      yaxis=dict(title=dict(text="winner"), autorange="reversed"))
    return fig


def side_by_side(ranking: pd.DataFrame, metrics: pd.DataFrame | None) -> pd.DataFrame:
    """The human ranking beside per-system objective metrics and predicted MOS: one row per
    ranked system, best first; ``metrics`` has a ``system`` column and one column per metric
    (absent systems get NaN)."""
    frame = ordered_ranking(ranking)[["rank", "system", "strength", "ci_low", "ci_high",
                                      "n_comparisons", "preliminary"]]
    if metrics is None or not len(metrics):
        return frame
    extra = metrics.copy()
    extra["system"] = extra["system"].astype(str)
    return frame.merge(extra, on="system", how="left")


def rank_agreement(ranking: pd.DataFrame, metrics: pd.DataFrame) -> pd.DataFrame:
    """Kendall's tau (``scipy.stats.kendalltau``, tau-b) between the human ranking and each
    metric's ranking of the same systems. A metric where lower is better (``audio.metrics``)
    is negated first, so tau = 1 means the metric orders the systems as people did.

    Returns:
        One row per metric column: ``metric, tau, p_value, n_systems``; tau NaN where fewer
        than two systems have the metric.
    """
    from scipy.stats import kendalltau

    table = side_by_side(ranking, metrics)
    rows = []
    for metric in [c for c in metrics.columns if c != "system"]:
        values = pd.to_numeric(table[metric], errors="coerce")
        info = METRICS.get(metric)
        if info is not None and not info.higher_is_better:
            values = -values
        keep = values.notna() & table["strength"].notna()
        tau, p = float("nan"), float("nan")
        if keep.sum() >= 2:
            result = kendalltau(table.loc[keep, "strength"], values[keep])
            tau, p = float(result.statistic), float(result.pvalue)
        rows.append({"metric": metric, "tau": tau, "p_value": p, "n_systems": int(keep.sum())})
    return pd.DataFrame(rows, columns=["metric", "tau", "p_value", "n_systems"])


def rank_agreement_figure(agreement: pd.DataFrame, *,
                          title: str = "Agreement with the human ranking (Kendall tau)"
                          ) -> go.Figure:
    """Bars of Kendall's tau per metric (-1..1), highest first, with the system count."""
    frame = agreement.sort_values("tau", ascending=False, na_position="last")
    fig = go.Figure(go.Bar(
        x=frame["metric"], y=frame["tau"],
        customdata=frame[["p_value", "n_systems"]].to_numpy(),
        hovertemplate="%{x}: tau %{y:.2f}, p %{customdata[0]:.3g}, "
                      "%{customdata[1]} systems<extra></extra>"))
    fig.update_layout(title=dict(text=title) if title else None, height=300,
                      margin=dict(l=60, r=20, t=40 if title else 10, b=80),
                      yaxis=dict(title=dict(text="Kendall tau"), range=[-1.05, 1.05]))
    return fig


def scales_vs_metric_figure(agreement: dict[str, dict], *, metric: str = "DNSMOS"
                            ) -> go.Figure:
    """One scatter per scale (P.835: SIG, BAK, OVRL) of the clips' human MOS against a
    predictor's score of the same scale, LCC and SRCC in each panel's title."""
    from plotly.subplots import make_subplots

    scales = list(agreement)
    titles = []
    for scale in scales:
        a = agreement[scale]
        lcc = "-" if a.get("lcc") is None else f"{a['lcc']:.2f}"
        srcc = "-" if a.get("srcc") is None else f"{a['srcc']:.2f}"
        titles.append(f"{scale.upper()}: LCC {lcc}, SRCC {srcc} (n={a.get('n', 0)})")
    fig = make_subplots(rows=1, cols=max(len(scales), 1), subplot_titles=titles)
    for k, scale in enumerate(scales, start=1):
        points = agreement[scale].get("points") or []
        fig.add_scatter(x=[p["dnsmos"] for p in points], y=[p["mos"] for p in points],
                        mode="markers", name=scale.upper(), row=1, col=k,
                        text=[str(p["clip_id"]) for p in points],
                        hovertemplate="clip %{text}: " + metric + " %{x:.2f}, MOS %{y:.2f}"
                                      "<extra></extra>")
        fig.update_xaxes(title_text=f"{metric} {scale.upper()}", row=1, col=k)
        fig.update_yaxes(title_text="human MOS" if k == 1 else None, range=[0.9, 5.1],
                         row=1, col=k)
    fig.update_layout(height=340, margin=dict(l=50, r=20, t=50, b=50), showlegend=False)
    return fig


# Score distributions per system (the "scores" dashboard, e.g. MUSHRA): the frames of
# ``Method.score_view``; the scale comes from the method, never from its name.

KIND_COLOURS = ("#57606a", "#bc4c00", "#0b5cad", "#116329", "#8250df")


def _kind_colours(kinds) -> dict[str, str]:
    order = list(dict.fromkeys(str(k) for k in kinds))
    return {k: KIND_COLOURS[i % len(KIND_COLOURS)] for i, k in enumerate(order)}


def score_boxes(scores: pd.DataFrame, summary: pd.DataFrame, *,
                value_range: tuple[float, float], title: str = "") -> go.Figure:
    """One box per system in ``summary``'s order (every score a point, coloured by its
    ``kind``), with the mean and its 95 % CI as a black diamond and bar over it.

    Args:
        scores: ``system, kind, page, assessor, score``, one row per counted score.
        summary: ``system, kind, n, mean, ci95``: the order and the means to draw.
        value_range: The method's scale (e.g. 0..100): the axis shows all of it.
        title: Figure title.
    """
    order = [str(s) for s in summary["system"]]
    colours = _kind_colours(summary["kind"])
    fig = go.Figure()
    for kind, colour in colours.items():
        part = scores[scores["kind"].astype(str) == kind]
        fig.add_box(x=part["system"].astype(str), y=part["score"], name=kind,
                    boxpoints="all", jitter=0.35, pointpos=0, marker=dict(size=4, opacity=0.5),
                    line=dict(color=colour), fillcolor="rgba(0,0,0,0)",
                    customdata=part[["page", "assessor"]].astype(str).to_numpy(),
                    hovertemplate="%{x}: %{y} (page %{customdata[0]}, "
                                  "%{customdata[1]})<extra>%{fullData.name}</extra>")
    fig.add_scatter(x=order, y=summary["mean"], mode="markers", name="mean, 95% CI (t)",
                    marker=dict(symbol="diamond", size=10, color="#1b1f24"),
                    error_y=dict(type="data", array=summary["ci95"].fillna(0).to_numpy(),
                                 visible=True, color="#1b1f24", thickness=2),
                    customdata=summary[["ci95", "n"]].to_numpy(),
                    hovertemplate="%{x}: mean %{y:.1f} ± %{customdata[0]:.1f} "
                                  "(n=%{customdata[1]})<extra></extra>")
    low, high = value_range
    pad = (high - low) * 0.02
    fig.update_layout(title=dict(text=title) if title else None, height=420, boxmode="overlay",
                      margin=dict(l=60, r=20, t=40 if title else 10, b=80),
                      xaxis=dict(categoryorder="array", categoryarray=order),
                      yaxis=dict(title=dict(text="score"), range=[low - pad, high + pad]),
                      legend=dict(orientation="h", y=-0.2))
    return fig


def mean_heatmap(inputs: pd.DataFrame, order: list[str], *, value_range: tuple[float, float],
                 title: str = "Mean score per input") -> go.Figure:
    """Inputs (rows) by systems (columns, in ``order``): the mean score as colour and text,
    n on hover; ``inputs`` has ``page, system, n, mean``."""
    means = inputs.pivot_table(index="page", columns="system", values="mean")
    counts = inputs.pivot_table(index="page", columns="system", values="n")
    columns = [s for s in order if s in means.columns]
    means, counts = means.reindex(columns=columns), counts.reindex(columns=columns)
    low, high = value_range
    fig = go.Figure(go.Heatmap(
        z=means.to_numpy(), x=columns, y=[str(i) for i in means.index], zmin=low, zmax=high,
        colorscale="Viridis", text=means.round(0).to_numpy(), texttemplate="%{text}",
        customdata=counts.to_numpy(), colorbar=dict(title=dict(text="mean")),
        hovertemplate="%{y} · %{x}: %{z:.1f} (n=%{customdata})<extra></extra>"))
    fig.update_layout(title=dict(text=title) if title else None,
                      height=max(260, 120 + 32 * len(means)),
                      margin=dict(l=220, r=20, t=40 if title else 10, b=80),
                      yaxis=dict(autorange="reversed"))
    return fig


def rule_shares_figure(screening: pd.DataFrame, rules: list[dict], *,
                       title: str = "Post-screening: share of each listener's pages "
                                    "breaking a rule") -> go.Figure:
    """Per assessor, one bar per rule: the share of their pages that broke it; the dashed
    line is the rule's limit (above it: excluded). ``rules``: ``[{column, label, limit}]``;
    ``screening``: ``assessor``, ``pages``, ``excluded`` and each rule's column."""
    names = [f"{a} (excluded)" if x else str(a)
             for a, x in zip(screening["assessor"], screening["excluded"], strict=True)]
    fig = go.Figure()
    for rule in rules:
        fig.add_bar(x=names, y=screening[rule["column"]], name=rule["label"],
                    customdata=screening[["pages"]].to_numpy(),
                    hovertemplate="%{x}: %{y:.0%} of %{customdata[0]} pages"
                                  "<extra>%{fullData.name}</extra>")
    for limit in sorted({float(r["limit"]) for r in rules}):
        fig.add_hline(y=limit, line_dash="dash", annotation_text=f"limit {limit:.0%}")
    fig.update_layout(title=dict(text=title) if title else None, barmode="group", height=340,
                      margin=dict(l=60, r=20, t=40 if title else 10, b=80),
                      yaxis=dict(title=dict(text="share of pages"), tickformat=".0%",
                                 range=[0, 1.02]),
                      legend=dict(orientation="h", y=-0.25))
    return fig
