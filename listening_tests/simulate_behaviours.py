"""How simulated crowd raters answer (scores, check answers, decision times), and the
record of what they did (:class:`SimulationReport`).

Pure code over seeded generators, kept apart from the HTTP driver
(:mod:`listening_tests.simulate`) so that it can be tested without a server.

A simulated rater cannot hear, so everything it "perceives" must come from what a browser
would have: the audio bytes it downloaded. An attentive rater's opinion of a clip is a latent
quality derived from a hash of those bytes (the same clip gives the same bytes to every rater,
so raters agree and clips differ in MOS), plus a per-rater bias and per-vote noise. Nothing is
read from the database or guessed from ids, so the server's quality control sees the simulated
raters as it would see people. Only stdlib and numpy here.
"""

from __future__ import annotations

import enum
import hashlib
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SCORE_MIN, SCORE_MAX = 1, 5


class Behaviour(enum.StrEnum):
    """Kinds of rater the P.808 quality control is meant to tell apart."""

    ATTENTIVE = "attentive"  # latent clip quality + own bias + noise
    STRAIGHT = "straight"  # the same score for every clip (straight-lining)
    RANDOM = "random"  # uniform random clicks
    TRAP_FAIL = "trap_fail"  # attentive, but clicks at random on ~30% of items
    ABANDON = "abandon"  # attentive, stops after half the items and never finishes


DEFAULT_MIX: dict[Behaviour, float] = {
    Behaviour.ATTENTIVE: 0.7,
    Behaviour.STRAIGHT: 0.1,
    Behaviour.RANDOM: 0.1,
    Behaviour.TRAP_FAIL: 0.05,
    Behaviour.ABANDON: 0.05,
}
TRAP_FAIL_RANDOM_SHARE = 0.3


def parse_mix(text: str | Mapping[str, float] | None) -> dict[Behaviour, float]:
    """Parse ``"attentive=0.7,straight=0.1,..."`` (or a mapping) into normalised weights.

    Raises:
        ValueError: On an unknown behaviour, a malformed or negative weight, or all zeros,
            naming the offending entry, so a typo on the command line is not silently ignored.
    """
    if text is None:
        return dict(DEFAULT_MIX)
    if isinstance(text, str):
        pairs: list[tuple[str, str]] = []
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, sep, value = part.partition("=")
            if not sep:
                raise ValueError(f"mix entry {part!r} is not name=weight")
            pairs.append((name.strip(), value.strip()))
    else:
        pairs = [(str(k), str(v)) for k, v in text.items()]
    known = ", ".join(b.value for b in Behaviour)
    weights: dict[Behaviour, float] = {}
    for name, value in pairs:
        try:
            behaviour = Behaviour(name)
        except ValueError:
            raise ValueError(f"unknown behaviour {name!r}; known: {known}") from None
        try:
            weight = float(value)
        except ValueError:
            raise ValueError(f"weight of {name!r} is not a number: {value!r}") from None
        if not np.isfinite(weight) or weight < 0:
            raise ValueError(f"weight of {name!r} must be a finite number >= 0, got {value!r}")
        weights[behaviour] = weights.get(behaviour, 0.0) + weight
    total = sum(weights.values())
    if total <= 0:
        raise ValueError("the behaviour mix needs at least one positive weight")
    return {b: w / total for b, w in weights.items() if w > 0}


def choose_behaviour(mix: Mapping[Behaviour, float], rng: np.random.Generator) -> Behaviour:
    """Draw one rater's behaviour from the mix."""
    names = list(mix)
    weights = np.array([mix[b] for b in names], dtype=float)
    return names[int(rng.choice(len(names), p=weights / weights.sum()))]


def latent_quality(key: bytes | str) -> float:
    """The "true" quality in [1, 5] that every attentive rater perceives in a stimulus.

    Derived from a hash of what the rater received (the audio bytes), so it is the same for
    every rater of a clip, differs between clips, and needs no knowledge the server withholds.
    """
    data = key.encode() if isinstance(key, str) else key
    fraction = int.from_bytes(hashlib.sha256(data).digest()[:8], "big") / 2**64
    return SCORE_MIN + (SCORE_MAX - SCORE_MIN) * fraction


def clip_score(value: float) -> int:
    """Round to the nearest ACR category and keep it on the 1..5 scale."""
    return int(np.clip(np.rint(value), SCORE_MIN, SCORE_MAX))


@dataclass
class RaterModel:
    """One simulated rater: its behaviour and its personal, seeded randomness.

    Attributes:
        behaviour: How it answers.
        rng: Its own generator; two raters never share one, so results do not depend on
            the order in which concurrent raters happen to run.
        bias: Its constant offset from the latent quality (some people rate harshly).
        constant: The score a straight-liner gives to everything.
        noise_std: Standard deviation of its per-vote noise.
    """

    behaviour: Behaviour
    rng: np.random.Generator
    bias: float = 0.0
    constant: int = 3
    noise_std: float = 0.5

    @classmethod
    def create(cls, behaviour: Behaviour, seed: int, index: int) -> RaterModel:
        """A rater whose answers depend only on ``(seed, index)``."""
        rng = np.random.default_rng([seed, index, 808])
        bias = float(rng.normal(0.0, 0.3))
        constant = int(rng.integers(SCORE_MIN, SCORE_MAX + 1))
        return cls(behaviour, rng, bias=bias, constant=constant)

    def score(self, stimulus: bytes | str) -> int:
        """The score this rater gives a stimulus (its audio bytes, or a stand-in key)."""
        if self.behaviour is Behaviour.STRAIGHT:
            return self.constant
        if self.behaviour is Behaviour.RANDOM or (
                self.behaviour is Behaviour.TRAP_FAIL
                and self.rng.random() < TRAP_FAIL_RANDOM_SHARE):
            return int(self.rng.integers(SCORE_MIN, SCORE_MAX + 1))
        noise = float(self.rng.normal(0.0, self.noise_std))
        return clip_score(latent_quality(stimulus) + self.bias + noise)

    def compare(self, a: bytes | str, b: bytes | str) -> int:
        """A CCR answer, B compared with A on -3..3: the latent quality difference B - A
        (scaled from the 4-point ACR range to the 6-point CCR range) with noise."""
        if self.behaviour is Behaviour.STRAIGHT:
            return self.constant - 3  # the same button every time
        if self.behaviour is Behaviour.RANDOM or (
                self.behaviour is Behaviour.TRAP_FAIL
                and self.rng.random() < TRAP_FAIL_RANDOM_SHARE):
            return int(self.rng.integers(-3, 4))
        diff = 1.5 * (latent_quality(b) - latent_quality(a))
        return int(np.clip(np.rint(diff + float(self.rng.normal(0.0, self.noise_std))), -3, 3))

    def degradation(self, reference: bytes | str, processed: bytes | str) -> int:
        """A DCR answer on 1..5 (5: degradation inaudible): the latent quality lost from the
        reference to the processed sample, with this rater's noise."""
        if self.behaviour is Behaviour.STRAIGHT:
            return self.constant
        if self.behaviour is Behaviour.RANDOM or (
                self.behaviour is Behaviour.TRAP_FAIL
                and self.rng.random() < TRAP_FAIL_RANDOM_SHARE):
            return int(self.rng.integers(SCORE_MIN, SCORE_MAX + 1))
        lost = max(0.0, latent_quality(reference) - latent_quality(processed))
        return clip_score(SCORE_MAX - lost + float(self.rng.normal(0.0, self.noise_std)))

    def choose(self, a: bytes | str, b: bytes | str, allow_none: bool) -> str:
        """An A/B answer: the better sample with noise, "none" when they seem close (where
        allowed); straight-liners always press A, random clickers pick at random."""
        if self.behaviour is Behaviour.STRAIGHT:
            return "A"
        options = ["A", "B", "none"] if allow_none else ["A", "B"]
        if self.behaviour is Behaviour.RANDOM or (
                self.behaviour is Behaviour.TRAP_FAIL
                and self.rng.random() < TRAP_FAIL_RANDOM_SHARE):
            return str(options[int(self.rng.integers(len(options)))])
        diff = latent_quality(b) - latent_quality(a) + float(self.rng.normal(0.0, self.noise_std))
        if allow_none and abs(diff) < 0.25:
            return "none"
        return "B" if diff > 0 else "A"

    def decision_ms(self) -> int:
        """Time between the end of playback and the click: careless raters are quick."""
        median = 700.0 if self.behaviour in (Behaviour.STRAIGHT, Behaviour.RANDOM) else 2500.0
        return int(median * float(self.rng.lognormal(0.0, 0.4)))

    def items_to_answer(self, total: int) -> int:
        """How many of the session's items this rater answers before it stops."""
        return total // 2 if self.behaviour is Behaviour.ABANDON else total

    def check_answer(self, check: Mapping[str, Any]) -> Any:
        """An answer to a setup check, in the contract's format.

        Qualification questions get "yes"/"normal" where offered (a healthy rater). The volume
        check is "done". The stereo digits and the environment comparison cannot be heard by
        a simulation, so they are guessed: tests meant for simulation switch those checks off.
        """
        kind = check.get("kind")
        if kind == "qualification":
            return {q["id"]: _healthy_option(q.get("options") or ["yes"])
                    for q in check.get("questions", [])}
        if kind == "volume":
            return "done"
        if kind == "stereo":
            left, right = self.rng.integers(0, 10, size=2)
            return {"left": str(int(left)), "right": str(int(right))}
        if kind == "environment":
            options = list(check.get("options") or ["A", "B", "same"])
            return options[int(self.rng.integers(len(options)))]
        raise ValueError(f"unknown check kind {kind!r}")


def _healthy_option(options: list[str]) -> str:
    for preferred in ("yes", "normal"):
        if preferred in options:
            return preferred
    return options[0]


def flac_duration_ms(data: bytes, default_ms: int = 3000) -> int:
    """Playback length from a FLAC STREAMINFO header (what the browser's player would show).

    Falls back to ``default_ms`` for anything that is not FLAC with a known length.
    """
    if len(data) < 26 or data[:4] != b"fLaC":
        return default_ms
    packed = int.from_bytes(data[18:26], "big")  # rate (20 bits) ... total samples (36 bits)
    sample_rate, total = packed >> 44, packed & ((1 << 36) - 1)
    if sample_rate <= 0 or total <= 0:
        return default_ms
    return round(1000 * total / sample_rate)


@dataclass(frozen=True)
class LatencySummary:
    """Percentiles (linear interpolation) of call latencies in milliseconds; NaN when empty."""

    count: int
    p50: float
    p95: float
    p99: float
    max: float

    @classmethod
    def of(cls, latencies_ms: list[float]) -> LatencySummary:
        if not latencies_ms:
            return cls(0, float("nan"), float("nan"), float("nan"), float("nan"))
        p50, p95, p99 = np.percentile(np.asarray(latencies_ms, dtype=float), [50, 95, 99])
        return cls(len(latencies_ms), float(p50), float(p95), float(p99),
                   float(max(latencies_ms)))


@dataclass
class SessionOutcome:
    """One simulated participant. ``status``: finished, abandoned (on purpose), cut_off (time
    was up), failed (a call went wrong), refused (no session was given)."""

    participant: str
    behaviour: str
    status: str = "started"
    token: str = ""
    start_status: int | None = None  # HTTP status of the session start; None: no answer
    votes_acknowledged: int = 0
    completion_code: str | None = None


@dataclass
class SimulationReport:
    """What a simulation did and how fast the server answered it."""

    url: str
    test_id: int
    seed: int
    concurrency: int
    outcomes: list[SessionOutcome] = field(default_factory=list)
    latencies_ms: defaultdict[str, list[float]] = field(  # by call: "vote", "item audio", ...
        default_factory=lambda: defaultdict(list))
    votes_repeated: int = 0  # acknowledged with 200: stored by an attempt whose answer was lost
    retries: int = 0
    errors: Counter[str] = field(default_factory=Counter)  # by HTTP status, or "connection"
    error_examples: dict[str, str] = field(default_factory=dict)
    wall_seconds: float = 0.0
    server_results: dict[str, Any] | None = None

    def sessions(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def sessions_started(self) -> int:
        return sum(o.status != "refused" for o in self.outcomes)

    @property
    def votes_acknowledged(self) -> int:
        return sum(o.votes_acknowledged for o in self.outcomes)

    @property
    def votes_in_finished_sessions(self) -> int:
        return sum(o.votes_acknowledged for o in self.outcomes if o.status == "finished")

    @property
    def votes_per_second(self) -> float:
        return self.votes_acknowledged / self.wall_seconds if self.wall_seconds else 0.0

    @property
    def latency(self) -> LatencySummary:
        """Of the vote calls, the ones a rater waits on after every click."""
        return LatencySummary.of(self.latencies_ms.get("vote", []))

    def summary(self) -> str:
        """A few human-readable lines, as printed by the command line."""
        lat = self.latency
        behaviours = Counter(o.behaviour for o in self.outcomes if o.status != "refused")
        errors = ", ".join(f"{k}: {n} (e.g. {self.error_examples[k]})"
                           for k, n in sorted(self.errors.items())) or "none"
        return "\n".join([
            f"test {self.test_id} at {self.url}: seed {self.seed}, concurrency "
            f"{self.concurrency}, {self.wall_seconds:.1f} s",
            f"sessions: started {self.sessions_started}, finished {self.sessions('finished')}, "
            f"abandoned {self.sessions('abandoned')}, cut off {self.sessions('cut_off')}, "
            f"failed {self.sessions('failed')}, refused {self.sessions('refused')}",
            "behaviours: " + ", ".join(f"{b} {n}" for b, n in sorted(behaviours.items())),
            f"votes acknowledged: {self.votes_acknowledged} ({self.votes_repeated} as repeats; "
            f"{self.votes_in_finished_sessions} in finished sessions), "
            f"{self.votes_per_second:.1f} votes/s, {self.retries} retries",
            f"vote latency ms: p50 {lat.p50:.1f}, p95 {lat.p95:.1f}, p99 {lat.p99:.1f}, "
            f"max {lat.max:.1f} (n={lat.count})",
            f"errors: {errors}",
            *([f"server results: sessions {self.server_results.get('sessions')}"]
              if self.server_results is not None else []),
        ])
