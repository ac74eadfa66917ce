"""The pretraining recipe as a strict YAML config (``conf/sqa/pretrain.yaml``).

Sections: ``seed``; ``speech`` (voices, speech sources and categories, clip length);
``data`` (how many conditions and clips, at which rates and band limits); ``degradation``
(the ranges conditions are drawn from: :class:`~audio.degrade_config.DegradationConfig`);
``pseudo_mos`` (weights of the metrics averaged into the ``score`` column);
``wideband_labels`` (how 8 kHz clips are scored); ``train`` (settings of
:class:`sqa.train.TrainConfig`, with ``model`` the :class:`~sqa.model.MosPredictorConfig`).
An unknown key, a wrong type or an out-of-range value raises
:class:`~audio.degrade_config.ConfigError` naming its path, so a
bad config stops before any audio is made.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from audio.degrade_config import (
    ConfigError,
    DegradationConfig,
    as_choices,
    as_number,
    as_probability,
    as_range,
    check_keys,
    join,
    read_yaml,
)
from audio.resample import URGENT_SAMPLE_RATES
from audio.speech_sources import SOURCES
from audio.tts import SAMPLE_SENTENCES
from sqa.model import MosPredictorConfig

#: Metric columns the pretraining data carries (what :mod:`sqa.pseudo_labels` computes).
PSEUDO_METRICS = ("dnsmos_ovrl", "dnsmos_sig", "dnsmos_bak", "dnsmos_p808", "pesq", "estoi")

#: Kinds of speech a pretraining pool can draw -> the voice transform that makes each from a
#: source voice (None: the voice as it is). ``accented`` is English read by an espeak-ng voice
#: of another language. All but ``neutral`` are synthetic stand-ins (children, elderly,
#: whispered, sung, emotional, accented speech), as in the SE simulation's categories.
SPEECH_CATEGORIES: dict[str, str | None] = {
    "neutral": None, "child": "child", "elderly": "elderly", "whispered": "whispered",
    "sung": "sung", "happy": "happy", "sad": "sad", "angry": "angry", "accented": None}

#: ``train`` keys and their ranges: (low, high, integer).
TRAIN_RANGES: dict[str, tuple[float, float, bool]] = {
    "seed": (0, 2**31 - 1, True), "epochs": (1, 100_000, True),
    "max_steps": (1, 10_000_000, True), "batch_size": (1, 4096, True),
    "lr": (1e-7, 1.0, False), "weight_decay": (0.0, 1.0, False),
    "grad_clip": (0.0, 1e3, False), "max_seconds": (0.5, 60.0, False),
    "tau": (0.0, 2.0, False), "rank_weight": (0.0, 10.0, False),
    "aux_weight": (0.0, 10.0, False), "val_fraction": (0.0, 0.5, False),
}


@dataclass(frozen=True)
class SpeechConfig:
    """Voices drawn per utterance; every clip is ``seconds`` long (cut or padded): DNSMOS
    repeats a shorter clip to fill its 9.01 s window, so 4.6-4.9 s costs one window.

    ``sources`` and ``categories`` are weights (:data:`audio.speech_sources.SOURCES`,
    :data:`SPEECH_CATEGORIES`); the default, espeak-ng only and neutral, draws the pool as
    the first recipe did. ``languages``, ``variants``, ``pitch`` and ``speed_wpm`` are
    espeak-ng's."""

    utterances: int = 96
    languages: tuple[str, ...] = tuple(SAMPLE_SENTENCES)
    variants: tuple[str | None, ...] = (None, "m1", "m3", "m7", "f1", "f2", "f4", "klatt")
    pitch: tuple[int, int] = (20, 80)
    speed_wpm: tuple[int, int] = (130, 220)
    seconds: float = 4.8
    sources: dict[str, float] = field(default_factory=lambda: {"espeak": 1.0})
    categories: dict[str, float] = field(default_factory=lambda: {"neutral": 1.0})

    @property
    def diverse(self) -> bool:
        """Whether the pool is drawn from more than espeak-ng's neutral voices."""
        return self.sources != {"espeak": 1.0} or self.categories != {"neutral": 1.0}


@dataclass(frozen=True)
class DataConfig:
    """How many degradation conditions (systems) and clips; see :mod:`sqa.conditions`.
    With ``narrowband_probability`` a condition above 8 kHz is band-limited to 4 kHz (as if
    sampled at 8 kHz) after its other distortions."""

    conditions: int = 72
    clean_conditions: int = 4
    clips_per_condition: int = 8
    sample_rates: tuple[int, ...] = (8_000, 16_000, 24_000, 48_000)
    noise_probability: float = 0.7
    snr_jitter_db: float = 2.0
    narrowband_probability: float = 0.0


@dataclass(frozen=True)
class PretrainConfig:
    seed: int = 0
    speech: SpeechConfig = field(default_factory=SpeechConfig)
    data: DataConfig = field(default_factory=DataConfig)
    degradation: DegradationConfig = field(default_factory=DegradationConfig)
    pseudo_mos: dict[str, float] = field(default_factory=lambda: {
        "dnsmos_ovrl": 1.0, "dnsmos_p808": 1.0, "pesq": 1.0})
    #: Score 8 kHz clips as the 16 kHz clips they sound like, PESQ wide-band against the
    #: wide-band clean speech, so 4 kHz-wide speech gets one pseudo-label whatever its rate
    #: (narrow-band PESQ would give clean 8 kHz speech 4.5, above a 16 kHz clip band-limited
    #: to the same 4 kHz).
    wideband_labels: bool = False
    train: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain YAML types (the copy saved beside the model). Keys that later recipes added
        are left out while at their defaults, so data made from an older recipe is still
        recognised as made from the same settings."""
        def plain(value: Any) -> Any:
            if isinstance(value, tuple | list):
                return [plain(v) for v in value]
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            return value
        defaults = {"sources": {"espeak": 1.0}, "categories": {"neutral": 1.0},
                    "narrowband_probability": 0.0, "wideband_labels": False}

        def newer_keys_set(section: dict[str, Any]) -> dict[str, Any]:
            return {k: v for k, v in section.items()
                    if k not in defaults or v != defaults[k]}

        out = {"seed": self.seed, "speech": newer_keys_set(plain(asdict(self.speech))),
               "data": newer_keys_set(plain(asdict(self.data))),
               "degradation": self.degradation.to_dict(),
               "pseudo_mos": dict(self.pseudo_mos), "train": plain(self.train)}
        if self.wideband_labels:
            out["wideband_labels"] = True
        return out


def _speech(data: Any, path: str) -> SpeechConfig:
    data = check_keys(data or {}, [f.name for f in fields(SpeechConfig)], path)
    d = SpeechConfig()
    languages = data.get("languages", d.languages)
    as_choices(languages, join(path, "languages"), list(SAMPLE_SENTENCES))
    variants = data.get("variants", d.variants)
    if isinstance(variants, str) or not isinstance(variants, list | tuple) or not variants:
        raise ConfigError(join(path, "variants"), f"expected a non-empty list, got {variants!r}")
    for v in variants:
        if v is not None and (not isinstance(v, str) or not v.isalnum()):
            raise ConfigError(join(path, "variants"), f"invalid espeak-ng variant {v!r}")
    return SpeechConfig(
        utterances=as_number(data.get("utterances", d.utterances), join(path, "utterances"),
                             1, 100_000, integer=True),
        languages=tuple(languages), variants=tuple(variants),
        pitch=as_range(data.get("pitch", d.pitch), join(path, "pitch"), 0, 99, integer=True),
        speed_wpm=as_range(data.get("speed_wpm", d.speed_wpm), join(path, "speed_wpm"),
                           80, 450, integer=True),
        seconds=as_number(data.get("seconds", d.seconds), join(path, "seconds"), 0.5, 30.0),
        sources=_named_weights(data.get("sources", d.sources), join(path, "sources"),
                               list(SOURCES)),
        categories=_named_weights(data.get("categories", d.categories),
                                  join(path, "categories"), list(SPEECH_CATEGORIES)))


def _named_weights(data: Any, path: str, names: list[str]) -> dict[str, float]:
    """Non-negative weights of known names, at least one positive."""
    data = check_keys(data, names, path)
    weights = {str(k): as_number(v, join(path, str(k)), 0.0, 100.0) for k, v in data.items()}
    if not any(weights.values()):
        raise ConfigError(path, "at least one weight must be positive")
    return weights


def _data(data: Any, path: str) -> DataConfig:
    data = check_keys(data or {}, [f.name for f in fields(DataConfig)], path)
    d = DataConfig()
    conditions = as_number(data.get("conditions", d.conditions), join(path, "conditions"),
                           1, 100_000, integer=True)
    clean = as_number(data.get("clean_conditions", d.clean_conditions),
                      join(path, "clean_conditions"), 0, conditions, integer=True)
    rates = data.get("sample_rates", d.sample_rates)
    as_choices(rates, join(path, "sample_rates"), URGENT_SAMPLE_RATES)
    return DataConfig(
        conditions=conditions, clean_conditions=clean,
        clips_per_condition=as_number(data.get("clips_per_condition", d.clips_per_condition),
                                      join(path, "clips_per_condition"), 1, 10_000,
                                      integer=True),
        sample_rates=tuple(int(r) for r in rates),
        noise_probability=as_probability(data.get("noise_probability", d.noise_probability),
                                         join(path, "noise_probability")),
        snr_jitter_db=as_number(data.get("snr_jitter_db", d.snr_jitter_db),
                                join(path, "snr_jitter_db"), 0.0, 20.0),
        narrowband_probability=as_probability(
            data.get("narrowband_probability", d.narrowband_probability),
            join(path, "narrowband_probability")))


def _weights(data: Any, path: str) -> dict[str, float]:
    return _named_weights(data, path, list(PSEUDO_METRICS))


def _train(data: Any, path: str) -> dict[str, Any]:
    known = [*TRAIN_RANGES, "val_split", "aux", "model"]
    data = check_keys(data or {}, known, path)
    out: dict[str, Any] = {}
    for key, value in data.items():
        where = join(path, key)
        if key in TRAIN_RANGES:
            low, high, integer = TRAIN_RANGES[key]
            out[key] = as_number(value, where, low, high, integer=integer)
        elif key == "val_split":
            if value not in ("system", "clip"):
                raise ConfigError(where, f"expected 'system' or 'clip', got {value!r}")
            out[key] = value
        elif key == "aux":
            out[key] = list(as_choices(value, where, PSEUDO_METRICS))
        else:
            check_keys(value, [f.name for f in fields(MosPredictorConfig)], where)
            try:
                MosPredictorConfig.from_dict(dict(value))
                out[key] = dict(value)
            except (TypeError, ValueError) as exc:
                raise ConfigError(where, str(exc)) from exc
    return out


def _flag(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(path, f"expected true or false, got {value!r}")
    return value


def config_from_dict(data: Any) -> PretrainConfig:
    """Build and check a config (missing keys keep their defaults).

    Raises:
        ConfigError: unknown key, wrong type or out-of-range value, with its key path.
    """
    known = [f.name for f in fields(PretrainConfig)]
    data = check_keys({} if data is None else data, known, "")
    d = PretrainConfig()
    cfg = PretrainConfig(
        seed=as_number(data.get("seed", d.seed), "seed", 0, 2**31 - 1, integer=True),
        speech=_speech(data.get("speech"), "speech"),
        data=_data(data.get("data"), "data"),
        degradation=DegradationConfig.from_dict(data.get("degradation"), "degradation"),
        pseudo_mos=_weights(data.get("pseudo_mos", d.pseudo_mos), "pseudo_mos"),
        wideband_labels=_flag(data.get("wideband_labels", d.wideband_labels),
                              "wideband_labels"),
        train=_train(data.get("train"), "train"))
    if cfg.data.clips_per_condition > cfg.speech.utterances:
        raise ConfigError("data.clips_per_condition",
                          f"{cfg.data.clips_per_condition} is more than speech.utterances "
                          f"({cfg.speech.utterances}); a condition uses distinct utterances")
    return cfg


def read_config(path: str | Path) -> PretrainConfig:
    """:func:`config_from_dict` of a YAML file."""
    return config_from_dict(read_yaml(path))
