"""The design of a listening test as a validated dataclass, read from YAML or JSON.

Validation collects every problem before it refuses, each led by its key path
(``gold.count: must be an integer from 0 to 50, got -1``), so a researcher fixes a spec in
one round. Unknown keys are problems too: a misspelt ``vote_per_clip`` would otherwise fall
back to a default without anyone noticing. This module checks the shape and the ranges only;
:mod:`listening_tests.catalog` checks the named clips, dataset and systems against the library.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from listening_tests.errors import SpecError
from listening_tests.fields import Fields

if TYPE_CHECKING:
    from listening_tests.quality_control import QcSettings

PLATFORMS = ("prolific", "generic")
PROLIFIC_REDIRECT = "https://app.prolific.com/submissions/complete?cc={code}"
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


@dataclass(frozen=True)
class ClipSelection:
    """The clips to rate: a dataset (optionally the outputs of systems for its inputs, and
    only the inputs of chosen speech ``categories``: child, sung ... as a clip's condition
    names them), or explicit library clip ids."""

    dataset: str | None = None
    systems: tuple[str, ...] = ()
    ids: tuple[int, ...] = ()
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClipPair:
    """A pair given by hand: two library clips of the same input (CCR: ``a`` is the
    reference, ``b`` the processed clip)."""

    a: int
    b: int


@dataclass(frozen=True)
class PairSelection:
    """What a comparison test (CCR, A/B, ranking) pairs (docs/rating-api.md).

    Attributes:
        dataset: The inputs whose systems' outputs are compared.
        systems: The systems compared.
        reference: CCR only: a system name, or "clean" for each input's clean reference.
        no_preference: A/B and ranking: allow the answer "none".
        show_original: A/B and ranking: also offer the clean reference as "original".
        explicit: Pairs given by clip id instead of dataset and systems.
    """

    dataset: str | None = None
    systems: tuple[str, ...] = ()
    reference: str | None = None
    no_preference: bool = True
    show_original: bool = False
    explicit: tuple[ClipPair, ...] = ()


@dataclass(frozen=True)
class GoldClip:
    """A gold clip chosen by hand and the score it deserves."""

    clip: int
    expected: int


@dataclass(frozen=True)
class GoldSpec:
    """Gold questions: clips whose score is known (clean references 5, heavy damage 1).

    Attributes:
        auto: choose ``count`` gold clips from the library (half clean references, half
            heavily degraded versions made for the test).
        count: gold clips in the pool (auto only).
        per_session: gold clips mixed into each session.
        tolerance: how far a gold answer may be off (same as quality_control.gold_tolerance).
        ids: gold clips chosen by hand, used instead of automatic ones.
    """

    auto: bool = True
    count: int = 2
    per_session: int = 1
    tolerance: float = 1.0
    ids: tuple[GoldClip, ...] = ()


@dataclass(frozen=True)
class TrappingSpec:
    """Trapping questions: a clip's start followed by a spoken request for a given score."""

    enabled: bool = True
    per_session: int = 1


@dataclass(frozen=True)
class TrainingSpec:
    """Training clips spanning the quality range, rated before the session's clips (answers
    kept, never used); asked again when the rater's last session ended longer ago than
    ``retrain_after_minutes`` (P.808: an hour)."""

    count: int = 4
    retrain_after_minutes: int = 60


@dataclass(frozen=True)
class ChecksSpec:
    """Which setup checks the rater goes through."""

    qualification: bool = True
    volume: bool = True
    stereo: bool = True
    environment: bool = True


@dataclass(frozen=True)
class QualityControlSpec:
    """P.808 thresholds (toolkit defaults) plus the optional cross-session checks.

    ``min_rater_correlation`` floors our leave-one-out correlation; ``min_rater_irr`` is
    P.808's ``rater_min_irr`` on P.808's own inter-rater reliability (the rater's votes
    included in the clip MOS), so a threshold from a P.808 configuration carries over.

    ``min_listening_fraction``: a vote whose reported time on the item (``elapsed_ms``) is
    shorter than this fraction of the clip's duration counts as "not played to the end";
    None turns it off. With ``server_clock_check`` the server's own clock must agree too:
    the vote must arrive at least that long after the clip's audio was first fetched (off by
    default, because simulated raters that vote at once would all be rejected).
    """

    min_rating_variance: float = 0.1
    gold_tolerance: float = 1.0
    min_environment_pairs_right: int = 2
    min_rater_correlation: float | None = None
    min_rater_irr: float | None = None
    outlier_z: float | None = None
    min_listening_fraction: float | None = 0.9
    server_clock_check: bool = False

    def settings(self, max_sessions_per_rater: int | None) -> QcSettings:
        """The thresholds as :class:`QcSettings` for :func:`evaluate_session`."""
        from listening_tests.quality_control import QcSettings  # pandas/scipy: load late

        return QcSettings(min_rating_variance=self.min_rating_variance,
                          gold_tolerance=self.gold_tolerance,
                          min_environment_pairs_right=self.min_environment_pairs_right,
                          max_sessions_per_rater=max_sessions_per_rater,
                          min_rater_correlation=self.min_rater_correlation,
                          outlier_z=self.outlier_z)


@dataclass(frozen=True)
class MushraSpec:
    """What a MUSHRA test (ITU-R BS.1534-3) adds: the low-pass anchors the app makes from
    each input's reference, and the post-screening thresholds (docs/rating-api.md).

    Attributes:
        anchors_hz: Cut-off frequencies of the low-pass anchors; 3500 (the low anchor) is
            required, 7000 (the mid anchor) is the default second one.
        mid_anchor_hz: The anchor post-screening checks (rated above ``anchor_max`` on too
            many pages excludes the assessor); None: no mid-anchor rule.
        reference_min: The hidden reference rated below this counts against the assessor.
        anchor_max: The mid anchor rated above this counts against the assessor.
        max_page_fraction: The share of pages allowed to break either rule (15 %).
        degraded_anchors: Extra anchors made with an URGENT-style degradation of the
            reference (names of :data:`listening_tests.methods.mushra.DEGRADED_ANCHORS`).
    """

    anchors_hz: tuple[int, ...] = (3500, 7000)
    mid_anchor_hz: int | None = 7000
    reference_min: int = 90
    anchor_max: int = 90
    max_page_fraction: float = 0.15
    degraded_anchors: tuple[str, ...] = ()


@dataclass(frozen=True)
class ListeningTestSpec:
    """A whole test design; ``from_dict`` validates, ``to_dict`` gives the stored JSON."""

    name: str
    clips: ClipSelection | None
    method: str = "acr"
    pairs: PairSelection | None = None
    votes_per_clip: int = 5
    clips_per_session: int = 10
    gold: GoldSpec = field(default_factory=GoldSpec)
    trapping: TrappingSpec = field(default_factory=TrappingSpec)
    training: TrainingSpec = field(default_factory=TrainingSpec)
    checks: ChecksSpec = field(default_factory=ChecksSpec)
    sessions_per_rater: int | None = 60
    abandon_after_minutes: int = 60
    platform: str = "generic"
    completion_code: str | None = None
    redirect_url: str | None = None
    instructions: str | None = None
    quality_control: QualityControlSpec = field(default_factory=QualityControlSpec)
    seed: int | None = None
    scale_order: str | None = None
    mushra: MushraSpec | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (tuples as lists), readable again by :meth:`from_dict`.

        A comparison test writes ``pairs``, ``votes_per_pair`` and ``pairs_per_session``
        in place of ``clips``, ``votes_per_clip`` and ``clips_per_session``.
        """
        out = _jsonable(asdict(self))
        if self.scale_order is None:
            del out["scale_order"]
        if self.mushra is None:
            del out["mushra"]
        if self.pairs is None:
            del out["pairs"]
            return out
        pairs = out.pop("pairs")
        explicit = pairs.pop("explicit")
        out["pairs"] = explicit if explicit else pairs
        from listening_tests.methods import method_of

        per_item, per_session = method_of(self.method).spec_keys()
        out[per_item] = out.pop("votes_per_clip")
        out[per_session] = out.pop("clips_per_session")
        del out["clips"]
        return out

    @classmethod
    def from_dict(cls, data: Any) -> ListeningTestSpec:
        """Validate a spec given as a mapping (parsed YAML or JSON).

        Raises:
            SpecError: listing every problem found.
        """
        problems: list[str] = []
        spec = _read_spec(Fields(data, "", problems))
        if problems or spec is None:
            raise SpecError(problems or ["the spec is empty"])
        return spec

    @property
    def qc_settings(self) -> QcSettings:
        return self.quality_control.settings(self.sessions_per_rater)


def load_spec_file(path: str | Path) -> ListeningTestSpec:
    """Read and validate a YAML (or JSON) spec file.

    Raises:
        SpecError: the file is missing or not YAML, or the spec has problems.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError([f"{path}: cannot read the file ({exc.strerror or exc})"]) from exc
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise SpecError([f"{path.name}: not valid YAML{line}"]) from exc
    return ListeningTestSpec.from_dict(data)


def valid_sections(data: Any) -> tuple[ClipSelection | None, GoldSpec | None]:
    """The ``clips`` and ``gold`` sections of a spec that has problems elsewhere, where they
    are valid on their own, so the library can be asked about them too and one refusal
    lists every problem."""
    if not isinstance(data, dict):
        return None, None
    sections = []
    for key, reader in (("clips", _read_clips), ("gold", _read_gold)):
        problems: list[str] = []
        section = reader(Fields(data.get(key), key, problems))
        sections.append(None if problems else section)
    return sections[0], sections[1]


def article(word: str) -> str:
    """"a" or "an" before a method name (an ab test, an acr test, a ccr test, a ranking
    test)."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _read_clips(f: Fields) -> ClipSelection:
    dataset = f.text("dataset", None, 200)
    systems: list[str] = []
    raw_systems = f.raw("systems")
    if f.has("systems"):
        if not isinstance(raw_systems, list):
            f.problem("systems", "must be a non-empty list of system names")
        else:
            for i, name in enumerate(raw_systems):
                if not isinstance(name, str) or not name.strip():
                    f.problem(f"systems[{i}]", f"must be a system name, got {name!r}")
                elif name.strip() in systems:
                    f.problem(f"systems[{i}]", f"system '{name.strip()}' is listed twice")
                else:
                    systems.append(name.strip())
    ids: list[int] = []
    raw_ids = f.raw("ids")
    if f.has("ids"):
        if not isinstance(raw_ids, list):
            f.problem("ids", "must be a non-empty list of library clip ids")
        else:
            for i, clip_id in enumerate(raw_ids):
                if isinstance(clip_id, bool) or not isinstance(clip_id, int) or clip_id < 1:
                    f.problem(f"ids[{i}]", f"must be a clip id (a positive integer), "
                                           f"got {clip_id!r}")
                elif clip_id in ids:
                    f.problem(f"ids[{i}]", f"clip {clip_id} is listed twice")
                else:
                    ids.append(clip_id)
    if f.has("dataset") == f.has("ids"):
        f.problem("", "give either a dataset or a list of clip ids")
    if f.has("systems") and not f.has("dataset"):
        f.problem("systems", "systems select outputs for a dataset's inputs; name the dataset")
    categories = _read_categories(f)
    f.finish(("dataset", "systems", "ids", "categories"))
    return ClipSelection(dataset=dataset, systems=tuple(systems), ids=tuple(ids),
                         categories=tuple(categories))


def _read_categories(f: Fields) -> list[str]:
    """``categories``: speech categories whose clips a dataset selection keeps."""
    if not f.has("categories"):
        return []
    raw = f.raw("categories")
    if not isinstance(raw, list) or not raw:
        f.problem("categories", "must be a non-empty list of speech categories "
                                "(neutral, child, elderly, whispered, sung ...)")
        return []
    categories: list[str] = []
    for i, name in enumerate(raw):
        if not isinstance(name, str) or not name.strip():
            f.problem(f"categories[{i}]", f"must be a speech category, got {name!r}")
        elif name.strip() in categories:
            f.problem(f"categories[{i}]", f"category '{name.strip()}' is listed twice")
        else:
            categories.append(name.strip())
    if not f.has("dataset"):
        f.problem("categories", "categories select among a dataset's clips; name the dataset")
    return categories


def _read_gold(f: Fields, default_count: int = 2) -> GoldSpec:
    ids: list[GoldClip] = []
    raw_ids = f.raw("ids")
    if raw_ids is not None:
        if not isinstance(raw_ids, list):
            f.problem("ids", "must be a list of {clip: ID, expected: SCORE}")
        else:
            for i, entry in enumerate(raw_ids):
                g = Fields(entry, f.key(f"ids[{i}]"), f.problems)
                clip = g.integer("clip", None, 1, 2**62)
                expected = g.integer("expected", None, -3, 5)
                if not g.has("clip") or not g.has("expected"):
                    g.problem("", "needs both clip and expected")
                g.finish(("clip", "expected"))
                if clip is not None and expected is not None:
                    ids.append(GoldClip(clip, expected))
    gold = GoldSpec(auto=f.boolean("auto", not ids),
                    count=f.integer("count", default_count, 0, 50),
                    per_session=f.integer("per_session", 1, 0, 5),
                    tolerance=f.number("tolerance", 1.0, 0.0, 4.0), ids=tuple(ids))
    if gold.auto and ids:
        f.problem("auto", "choose gold clips automatically or by ids, not both")
    f.finish(("auto", "count", "per_session", "tolerance", "ids"))
    return gold


def _read_spec(f: Fields) -> ListeningTestSpec | None:
    name = f.text("name", None, 200, required=True)
    from listening_tests.methods import METHODS, method_of

    method = f.text("method", "acr", 20, choices=tuple(METHODS)) or "acr"
    kind = method_of(method)
    comparison = kind.pairs
    pair_methods = ", ".join(m.name for m in METHODS.values() if m.pairs)
    clips: ClipSelection | None = None
    pairs: PairSelection | None = None
    if comparison:
        pairs = read_pairs(f, method, takes_reference=kind.takes_reference())
        for key in ("clips", "votes_per_clip", "clips_per_session"):
            if f.has(key):
                f.problem(key, f"{article(method)} {method} test takes pairs, votes_per_pair and "
                               "pairs_per_session instead")
    else:
        clips = _read_clips(f.section("clips"))
        for key in ("pairs", "votes_per_pair", "pairs_per_session"):
            if f.has(key):
                f.problem(key, f"only comparison methods ({pair_methods}) take it")
    gold_f = f.section("gold")
    gold = _read_gold(gold_f, default_count=2 if kind.makes_gold else 0)
    t = f.section("trapping")
    trapping = TrappingSpec(enabled=t.boolean("enabled", not comparison),
                            per_session=t.integer("per_session", 1, 0, 5))
    t.finish(("enabled", "per_session"))
    if comparison and trapping.enabled:
        f.problem("trapping.enabled", "trapping questions are not supported for comparison "
                                      "methods; leave them off")
    t = f.section("training")
    training = TrainingSpec(count=t.integer("count", kind.training_default, 0, 20),
                            retrain_after_minutes=t.integer("retrain_after_minutes", 60, 0,
                                                            10_080))
    t.finish(("count", "retrain_after_minutes"))
    t = f.section("checks")
    checks = ChecksSpec(**{k: t.boolean(k, True) for k in
                           ("qualification", "volume", "stereo", "environment")})
    t.finish(("qualification", "volume", "stereo", "environment"))
    qc_f = f.section("quality_control")
    qc = QualityControlSpec(
        min_rating_variance=qc_f.number("min_rating_variance", 0.1, 0.0, 4.0),
        gold_tolerance=qc_f.number("gold_tolerance", gold.tolerance, 0.0, 4.0),
        min_environment_pairs_right=qc_f.integer("min_environment_pairs_right", 2, 0, 4),
        min_rater_correlation=qc_f.number("min_rater_correlation", None, -1.0, 1.0),
        min_rater_irr=qc_f.number("min_rater_irr", None, -1.0, 1.0),
        outlier_z=qc_f.number("outlier_z", None, 1.0, 10.0),
        min_listening_fraction=qc_f.number("min_listening_fraction", 0.9, 0.0, 1.0,
                                           nullable=True),
        server_clock_check=qc_f.boolean("server_clock_check", False))
    qc_f.finish(("min_rating_variance", "gold_tolerance", "min_environment_pairs_right",
                 "min_rater_correlation", "min_rater_irr", "outlier_z", "min_listening_fraction",
                 "server_clock_check"))
    if gold_f.has("tolerance") and qc_f.has("gold_tolerance") \
            and gold.tolerance != qc.gold_tolerance:
        f.problem("quality_control.gold_tolerance",
                  f"{qc.gold_tolerance:g} disagrees with gold.tolerance {gold.tolerance:g}; "
                  "give one")
    tolerance = qc.gold_tolerance if qc_f.has("gold_tolerance") else gold.tolerance
    platform = f.text("platform", "generic", 20, choices=PLATFORMS)
    code = f.text("completion_code", None, 100)
    if code is not None and not _CODE.match(code):
        f.problem("completion_code", "must be letters, digits, '-' or '_' only")
    redirect = f.text("redirect_url", None, 1000)
    if redirect is not None:
        if platform != "prolific":
            f.problem("redirect_url", "only the prolific platform redirects; "
                                      "generic tests show the completion code")
        elif not redirect.startswith(("https://", "http://")):
            f.problem("redirect_url", "must be an http(s) address")
    elif platform == "prolific":
        redirect = PROLIFIC_REDIRECT
    sessions_per_rater = f.integer("sessions_per_rater", 60, 1, 10_000, nullable=True)
    per_clip, per_session = kind.spec_keys()
    spec_values = dict(
        votes_per_clip=f.integer(per_clip, 5, 1, kind.max_votes_per_item),
        clips_per_session=f.integer(per_session, 10, 1, 200),
        abandon_after_minutes=f.integer("abandon_after_minutes", 60, 1, 10_080),
        instructions=f.text("instructions", None, 20_000),
        seed=f.integer("seed", None, 0, 2**31 - 1),
        scale_order=_read_scale_order(f, kind),
        mushra=_read_mushra(f, kind),
    )
    f.finish(("name", "method", "clips", "votes_per_clip", "clips_per_session", "gold",
              "pairs", "votes_per_pair", "pairs_per_session",
              "trapping", "training", "checks", "sessions_per_rater",
              "abandon_after_minutes", "platform", "completion_code", "redirect_url",
              "instructions", "quality_control", "seed", "scale_order", "mushra",
              *per_key_names(kind)))
    if f.problems or name is None:
        return None
    gold = GoldSpec(auto=gold.auto, count=gold.count, per_session=gold.per_session,
                    tolerance=tolerance, ids=gold.ids)
    qc = QualityControlSpec(**{**asdict(qc), "gold_tolerance": tolerance})
    return ListeningTestSpec(name=name, clips=clips, method=method, pairs=pairs, gold=gold,
                             trapping=trapping, training=training, checks=checks,
                             sessions_per_rater=sessions_per_rater, platform=platform,
                             completion_code=code, redirect_url=redirect,
                             quality_control=qc, **spec_values)


def per_key_names(kind: Any) -> tuple[str, ...]:
    """The method's own names of the vote target and session size (MUSHRA: listeners per
    page, pages per session), accepted besides the pair keys."""
    return kind.spec_keys()


def _read_mushra(f: Fields, kind: Any) -> MushraSpec | None:
    """The ``mushra`` section: anchors and post-screening thresholds (MUSHRA tests only)."""
    if kind.name != "mushra":
        if f.has("mushra"):
            f.problem("mushra", f"only mushra tests take it, not {kind.name}")
        return None
    m = f.section("mushra")
    anchors: tuple[int, ...] = (3500, 7000)
    raw = m.raw("anchors_hz")
    if m.has("anchors_hz"):
        if not isinstance(raw, list) or not all(
                isinstance(x, int) and not isinstance(x, bool) and 500 <= x <= 20_000
                for x in raw):
            m.problem("anchors_hz", "must be a list of cut-off frequencies in Hz, 500..20000")
        elif 3500 not in raw:
            m.problem("anchors_hz", "must include 3500: BS.1534-3 requires the 3.5 kHz "
                                    "low-pass anchor")
        elif len(set(raw)) != len(raw):
            m.problem("anchors_hz", "an anchor is listed twice")
        else:
            anchors = tuple(sorted(raw))
    mid = m.integer("mid_anchor_hz", 7000 if 7000 in anchors else None, 500, 20_000,
                    nullable=True)
    if mid is not None and mid not in anchors:
        m.problem("mid_anchor_hz", f"{mid} is not one of the anchors "
                                   f"({', '.join(map(str, anchors))})")
    from listening_tests.methods.mushra import DEGRADED_ANCHORS

    degraded: tuple[str, ...] = ()
    raw = m.raw("degraded_anchors")
    if m.has("degraded_anchors"):
        if not isinstance(raw, list) or not all(
                isinstance(x, str) and x in DEGRADED_ANCHORS for x in raw):
            m.problem("degraded_anchors", "must be a list of degradations from "
                                          f"{', '.join(DEGRADED_ANCHORS)}")
        elif len(set(raw)) != len(raw):
            m.problem("degraded_anchors", "a degradation is listed twice")
        else:
            degraded = tuple(raw)
    spec = MushraSpec(anchors_hz=anchors, mid_anchor_hz=mid,
                      reference_min=m.integer("reference_min", 90, 0, 100),
                      anchor_max=m.integer("anchor_max", 90, 0, 100),
                      max_page_fraction=m.number("max_page_fraction", 0.15, 0.0, 1.0),
                      degraded_anchors=degraded)
    m.finish(("anchors_hz", "mid_anchor_hz", "reference_min", "anchor_max",
              "max_page_fraction", "degraded_anchors"))
    return spec


def _read_scale_order(f: Fields, kind: Any) -> str | None:
    """The order of a multi-scale method's questions (P.835: which of SIG and BAK first)."""
    if not kind.scale_orders:
        if f.has("scale_order"):
            f.problem("scale_order", f"{article(kind.name)} {kind.name} test asks one "
                                     "question; only methods with several scales (p835) take it")
        return None
    return f.text("scale_order", kind.scale_orders[0], 40, choices=kind.scale_orders)


def read_pairs(f: Fields, method: str, *, takes_reference: bool) -> PairSelection | None:
    """The ``pairs`` section of a comparison spec: a dataset with systems, or a list of
    ``{a: CLIP_ID, b: CLIP_ID}`` (whether both clips come from one input is checked
    against the library, in :mod:`listening_tests.pair_catalog`)."""
    raw = f.raw("pairs")
    if not f.has("pairs"):
        f.problem("pairs", f"{article(method)} {method} test needs pairs: a "
                           "dataset with systems, or a list of {a: CLIP_ID, b: CLIP_ID}")
        return None
    if isinstance(raw, list):
        explicit: list[ClipPair] = []
        for i, entry in enumerate(raw):
            g = Fields(entry, f.key(f"pairs[{i}]"), f.problems)
            a, b = g.integer("a", None, 1, 2**62), g.integer("b", None, 1, 2**62)
            if not g.has("a") or not g.has("b"):
                g.problem("", "needs both a and b (library clip ids)")
            elif a == b and a is not None:
                g.problem("", "pairs a clip with itself")
            g.finish(("a", "b"))
            if a is not None and b is not None:
                explicit.append(ClipPair(a, b))
        if not raw:
            f.problem("pairs", "the list of pairs is empty")
        return PairSelection(explicit=tuple(explicit))
    p = f.section("pairs")
    dataset = p.text("dataset", None, 200, required=True)
    systems: list[str] = []
    raw_systems = p.raw("systems")
    if not isinstance(raw_systems, list) or not all(
            isinstance(x, str) and x.strip() for x in raw_systems):
        p.problem("systems", "must be a non-empty list of system names")
    else:
        systems = list(dict.fromkeys(x.strip() for x in raw_systems))
        if len(systems) != len(raw_systems):
            p.problem("systems", "a system is listed twice")
    reference = p.text("reference", None, 200)
    if takes_reference:
        if reference is None:
            p.problem("reference", f"{article(method)} {method} test compares each "
                                   "system with a reference: a system name or \"clean\"")
        elif reference in systems:
            p.problem("reference", "the reference cannot also be a compared system")
    elif reference is not None:
        p.problem("reference", "only ccr tests take a reference")
    elif len(systems) < 2 and isinstance(raw_systems, list):
        p.problem("systems", f"{article(method)} {method} test compares at least two systems")
    selection = PairSelection(dataset=dataset, systems=tuple(systems), reference=reference,
                              no_preference=p.boolean("no_preference", True),
                              show_original=p.boolean("show_original", False))
    p.finish(("dataset", "systems", "reference", "no_preference", "show_original"))
    return selection
