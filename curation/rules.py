"""Selection rules: thresholds, per-source quantiles and their combinations (all / any),
read from a YAML file checked strictly (``conf/curation/*.yaml``).

A rule file::

    name: urgent2025
    description: ...
    missing: drop          # a file without the metric fails the rule (keep: passes)
    combine: all           # all: keep a file that passes every rule; any: one is enough
    rules:
      - {metric: speech_ratio, min: 0.2}
      - {metric: sqa_mos, min_quantile: 0.1}         # drop each source's lowest 10 %
      - {metric: dnsmos_bak, min: 3.0, sources: [librivox]}   # only for these sources
      - any: [{metric: snr_db, min: 30}, {metric: dnsmos_bak, min: 3.5}]

Every problem of a file (unknown key, wrong type, value out of range, unknown metric) is one
line of :class:`RuleError`, raised before any selection is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from curation.metrics import GROUPS, metric_columns

#: Columns a rule may test: every metric plus what a file is.
RULE_METRICS = ("duration_s", "sample_rate", *metric_columns(tuple(GROUPS)))
_LEAF_KEYS = {"metric", "min", "max", "min_quantile", "max_quantile", "sources", "name"}
_TOP_KEYS = {"name", "description", "missing", "combine", "rules"}


class RuleError(ValueError):
    """A rule file is unusable; ``problems`` holds one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Threshold:
    """One metric's bounds: fixed values and/or quantiles of the file's source."""

    metric: str
    min: float | None = None
    max: float | None = None
    min_quantile: float | None = None
    max_quantile: float | None = None
    sources: tuple[str, ...] | None = None
    name: str = ""

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        parts = []
        if self.min is not None:
            parts.append(f"{self.metric} >= {self.min:g}")
        if self.max is not None:
            parts.append(f"{self.metric} <= {self.max:g}")
        if self.min_quantile is not None:
            parts.append(f"{self.metric} >= its source's q{self.min_quantile:g}")
        if self.max_quantile is not None:
            parts.append(f"{self.metric} <= its source's q{self.max_quantile:g}")
        where = f" (sources {', '.join(self.sources)})" if self.sources else ""
        return " and ".join(parts) + where


@dataclass(frozen=True)
class Combination:
    """Rules joined by ``all`` (every one must pass) or ``any`` (one is enough)."""

    mode: str
    rules: tuple[Threshold | Combination, ...]
    name: str = ""


@dataclass(frozen=True)
class RuleSet:
    name: str
    root: Combination
    description: str = ""
    missing: str = "drop"

    def thresholds(self) -> list[Threshold]:
        """Every threshold, depth first."""
        found: list[Threshold] = []

        def walk(node: Threshold | Combination) -> None:
            if isinstance(node, Threshold):
                found.append(node)
            else:
                for child in node.rules:
                    walk(child)

        walk(self.root)
        return found

    def to_dict(self) -> dict[str, Any]:
        def node(n: Threshold | Combination) -> dict[str, Any]:
            if isinstance(n, Combination):
                d: dict[str, Any] = {n.mode: [node(c) for c in n.rules]}
                if n.name:
                    d["name"] = n.name
                return d
            d = {"metric": n.metric}
            for key in ("min", "max", "min_quantile", "max_quantile"):
                if getattr(n, key) is not None:
                    d[key] = float(getattr(n, key))
            if n.sources:
                d["sources"] = list(n.sources)
            if n.name:
                d["name"] = n.name
            return d

        return {"name": self.name, "description": self.description, "missing": self.missing,
                "combine": self.root.mode, "rules": [node(c) for c in self.root.rules]}

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)


def _number(value: Any, where: str, problems: list[str], *, low: float | None = None,
            high: float | None = None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        problems.append(f"{where}: expected a number, got {type(value).__name__} {value!r}")
        return None
    if not np.isfinite(value) or (low is not None and value < low) or \
            (high is not None and value > high):
        problems.append(f"{where}: {value!r} is outside {low:g}..{high:g}" if low is not None
                        else f"{where}: {value!r} is not a finite number")
        return None
    return float(value)


def _parse_node(raw: Any, where: str, problems: list[str]) -> Threshold | Combination | None:
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: expected a mapping (metric: ... or all:/any: [...]), got "
                        f"{type(raw).__name__}")
        return None
    modes = [m for m in ("all", "any") if m in raw]
    if modes:
        extra = set(raw) - {modes[0], "name"}
        if len(modes) > 1 or extra:
            problems.append(f"{where}: unknown or conflicting keys "
                            f"{', '.join(sorted(map(str, extra | set(modes[1:]))))} beside "
                            f"'{modes[0]}' (allowed: name)")
        children = raw[modes[0]]
        if not isinstance(children, list) or not children:
            problems.append(f"{where}.{modes[0]}: expected a non-empty list of rules")
            return None
        parsed = [_parse_node(c, f"{where}.{modes[0]}[{i}]", problems)
                  for i, c in enumerate(children)]
        name = raw.get("name", "")
        if not isinstance(name, str):
            problems.append(f"{where}.name: expected text")
        return Combination(modes[0], tuple(p for p in parsed if p is not None),
                           name if isinstance(name, str) else "")
    unknown = sorted(map(str, set(raw) - _LEAF_KEYS))
    for key in unknown:
        problems.append(f"{where}: unknown key '{key}' (allowed: "
                        f"{', '.join(sorted(_LEAF_KEYS))}, or all/any)")
    metric = raw.get("metric")
    if not isinstance(metric, str):
        problems.append(f"{where}.metric: required, the name of a score column")
        return None
    if metric not in RULE_METRICS:
        problems.append(f"{where}.metric: unknown metric '{metric}' (known: "
                        f"{', '.join(RULE_METRICS)})")
    values = {k: _number(raw.get(k), f"{where}.{k}", problems) for k in ("min", "max")}
    quantiles = {k: _number(raw.get(k), f"{where}.{k}", problems, low=0.0, high=1.0)
                 for k in ("min_quantile", "max_quantile")}
    if not unknown and not any(k in raw for k in ("min", "max", "min_quantile",
                                                  "max_quantile")):
        problems.append(f"{where}: give at least one of min, max, min_quantile, max_quantile")
    if values["min"] is not None and values["max"] is not None and values["min"] > values["max"]:
        problems.append(f"{where}: min {values['min']:g} is above max {values['max']:g}")
    sources = raw.get("sources")
    if sources is not None and (not isinstance(sources, list) or not sources
                                or not all(isinstance(s, str) for s in sources)):
        problems.append(f"{where}.sources: expected a non-empty list of source names")
        sources = None
    name = raw.get("name", "")
    if not isinstance(name, str):
        problems.append(f"{where}.name: expected text")
        name = ""
    return Threshold(metric, values["min"], values["max"], quantiles["min_quantile"],
                     quantiles["max_quantile"], tuple(sources) if sources else None, name)


def parse_rules(data: Any, *, origin: str = "rules") -> RuleSet:
    """A :class:`RuleSet` from parsed YAML.

    Raises:
        RuleError: every problem, one line each, prefixed with ``origin``.
    """
    problems: list[str] = []
    if not isinstance(data, Mapping):
        raise RuleError([f"{origin}: expected a mapping with a 'rules' list at the top"])
    for key in sorted(map(str, set(data) - _TOP_KEYS)):
        problems.append(f"unknown key '{key}' (allowed: {', '.join(sorted(_TOP_KEYS))})")
    for key in ("name", "description"):
        if key in data and not isinstance(data[key], str):
            problems.append(f"{key}: expected text, got {type(data[key]).__name__}")
    missing = data.get("missing", "drop")
    if missing not in ("drop", "keep"):
        problems.append(f"missing: expected drop or keep, got {missing!r}")
    combine = data.get("combine", "all")
    if combine not in ("all", "any"):
        problems.append(f"combine: expected all or any, got {combine!r}")
    rules = data.get("rules")
    if not isinstance(rules, list) or not rules:
        problems.append("rules: required, a non-empty list of rules")
        rules = []
    parsed = [_parse_node(r, f"rules[{i}]", problems) for i, r in enumerate(rules)]
    if problems:
        raise RuleError([f"{origin}: {p}" for p in problems])
    name = data.get("name") or origin
    return RuleSet(str(name), Combination(str(combine), tuple(p for p in parsed if p)),
                   str(data.get("description", "")), str(missing))


def load_rules(path: str | Path) -> RuleSet:
    """Read and check a rule file.

    Raises:
        RuleError: unreadable file, YAML syntax error, or any problem of its content.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RuleError([f"{path}: cannot read the rule file ({exc.strerror or exc})"]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise RuleError([f"{path}: not valid YAML{where}: {reason}"]) from exc
    return parse_rules(data, origin=path.name)


def threshold_rules(bounds: Mapping[str, tuple[float | None, float | None]], *,
                    name: str = "custom", description: str = "") -> RuleSet:
    """A rule set of fixed bounds, one per metric (what the app's number boxes give)."""
    rules = tuple(Threshold(metric, lo, hi) for metric, (lo, hi) in bounds.items()
                  if lo is not None or hi is not None)
    return RuleSet(name, Combination("all", rules), description)


@dataclass(frozen=True)
class Bound:
    """A threshold as applied to one source: the numbers drawn on its histogram."""

    label: str
    metric: str
    source: str
    low: float | None
    high: float | None


def _bounds(rule: Threshold, table: pd.DataFrame, source: str, values: pd.Series
            ) -> tuple[float | None, float | None]:
    lo, hi = rule.min, rule.max
    finite = values.dropna()
    if rule.min_quantile is not None and len(finite):
        q = float(finite.quantile(rule.min_quantile))
        lo = q if lo is None else max(lo, q)
    if rule.max_quantile is not None and len(finite):
        q = float(finite.quantile(rule.max_quantile))
        hi = q if hi is None else min(hi, q)
    return lo, hi


def evaluate(rules: RuleSet, table: pd.DataFrame) -> tuple[pd.Series, pd.Series, list[Bound]]:
    """Apply ``rules`` to a scores table (one row per file).

    Returns:
        (passed: bool per row, reason: the rules a dropped file failed, "" for kept ones,
        bounds: every threshold as applied per source).
    """
    index = table.index
    sources = table["source"].astype(str) if "source" in table else pd.Series("", index=index)
    bounds: list[Bound] = []

    def leaf(rule: Threshold) -> tuple[np.ndarray, np.ndarray]:
        ok = np.ones(len(table), dtype=bool)
        reason = np.full(len(table), "", dtype=object)
        column = table[rule.metric] if rule.metric in table else \
            pd.Series(np.nan, index=index, dtype=float)
        column = pd.to_numeric(column, errors="coerce")
        for source in sorted(sources.unique()):
            if rule.sources and source not in rule.sources:
                continue
            mask = (sources == source).to_numpy()
            values = column[mask]
            lo, hi = _bounds(rule, table, source, values)
            bounds.append(Bound(rule.label, rule.metric, source, lo, hi))
            v = values.to_numpy(dtype=float)
            missing = ~np.isfinite(v)
            fine = np.ones(v.shape, dtype=bool)
            if lo is not None:
                fine &= v >= lo
            if hi is not None:
                fine &= v <= hi
            fine = np.where(missing, rules.missing == "keep", fine)
            ok[mask] = fine
            text = np.where(missing, f"{rule.metric} missing", rule.label)
            reason[mask] = np.where(fine, "", text)
        return ok, reason

    def node(n: Threshold | Combination) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(n, Threshold):
            return leaf(n)
        results = [node(c) for c in n.rules]
        if not results:  # no rule at all (e.g. every box of the app left empty): keep all
            return np.ones(len(table), dtype=bool), np.full(len(table), "", dtype=object)
        oks = np.stack([r[0] for r in results])
        if n.mode == "all":
            ok = oks.all(axis=0)
            reason = np.array(["; ".join(r[1][i] for r in results if r[1][i])
                               for i in range(len(table))], dtype=object)
        else:
            ok = oks.any(axis=0)
            reason = np.array(["" if ok[i] else
                               "none of: " + " | ".join(r[1][i] for r in results if r[1][i])
                               for i in range(len(table))], dtype=object)
        if n.name:
            reason = np.where(ok, "", np.where(reason != "", n.name + ": " + reason, n.name))
        return ok, reason

    ok, reason = node(rules.root)
    return pd.Series(ok, index=index), pd.Series(reason, index=index, dtype=object), bounds
