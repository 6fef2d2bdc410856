"""The learned triage model: its file, and scoring a post in pure Python.

One file, `triage-model.bin`, in a model directory: a magic line, a JSON header line
(outputs, biases, placement weights, calibration, thresholds, what it was trained on,
the payload's sha256), then the payload: the sorted bucket ids (uint32) and, per bucket,
one int8 weight per output (complaint first, then the topics), scaled per output. Only
buckets with a weight that survives quantisation are kept, so the file stays small.

Scoring follows training exactly (training.py): a post's word features count
1/sqrt(n) each (n = how many it has), placement features count 1; the complaint logit is
calibrated (Platt) into the score. A word's contribution is the same in every post, so
it is computed once per word and cached.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
import sys
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from itertools import pairwise
from operator import itemgetter
from pathlib import Path
from typing import Any

from socialcare.errors import ConfigError
from socialcare.triage import features

MAGIC = b"socialcare-triage-model 1\n"
FILE_NAME = "triage-model.bin"
_WORD_CACHE = 100_000  # distinct words remembered per model; cleared when full
_BUCKET_CACHE = 200_000  # packed buckets remembered (hits and misses); cleared when full
SHOWN = 3  # words given back with their contribution (for the reasons)


def shipped_path() -> Path:
    return Path(str(resources.files("socialcare").joinpath("data", FILE_NAME)))


def resolve(location: str | os.PathLike[str] | None = None) -> Path:
    """The model file: `location` (a directory or the file), else the one shipped in the
    layer."""
    path = Path(location or shipped_path())
    return path / FILE_NAME if path.is_dir() else path


@dataclass(frozen=True)
class Score:
    probability: float  # calibrated
    topics: list[str]
    words: list[tuple[str, float]]  # the SHOWN tokens that moved the complaint logit most


class Model:
    """Weights read from a model file; `score(tokens, ...)` for one post."""

    def __init__(self, header: dict[str, Any], ids: array[int], weights: array[int]) -> None:
        self.header = header
        self.outputs: list[str] = header["outputs"]  # "complaint", then topic names
        self.topics = self.outputs[1:]
        self._width = len(self.outputs)
        self._scales: list[float] = header["scales"]
        self.bias: list[float] = header["bias"]
        self.placement = {int(k): v for k, v in header["placement"].items()}
        a, b = header["calibration"]
        self.calibration = (float(a), float(b))
        self.thresholds: dict[str, float] = header["thresholds"]
        self.topic_logit = float(header["topic_logit"])
        # sorted bucket ids, searched by bisection: a dict of them would hold ~5 MiB of
        # int objects in every TriageMentions process (issue 18's peak)
        self._ids = ids
        self._weights = weights  # int8, row after row
        # A bucket's weights packed into one int, LANE bits per output, each offset by
        # 128 so lanes stay non-negative: a post's sums over all outputs are then one
        # C-level sum() of ints (see _unpack), not a Python loop per output.
        self._packed: dict[int, int] = {}
        self._zero = _pack((0,) * self._width)
        self._lanes = struct.Struct(f"<{self._width}I")  # one 32-bit lane per output
        self._zeros = [0.0] * self._width
        self._placements: dict[tuple[bool, int | None, int], tuple[float, ...]] = {}
        self._words: dict[str, tuple[int, int, int, int]] = {}

    # -- loading --------------------------------------------------------------------
    @classmethod
    def load(cls, location: str | os.PathLike[str] | None = None) -> Model:
        path = resolve(location)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"triage model {path}: {exc.strerror or exc}") from exc
        try:
            return cls.from_bytes(data)
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise ConfigError(f"triage model {path} is corrupt: {exc}") from exc

    @classmethod
    def from_bytes(cls, data: bytes) -> Model:
        if not data.startswith(MAGIC):
            raise ValueError("not a socialcare triage model")
        end = data.index(b"\n", len(MAGIC))
        header = json.loads(data[len(MAGIC) : end])
        payload = data[end + 1 :]
        if hashlib.sha256(payload).hexdigest() != header["payload_sha256"]:
            raise ValueError("payload checksum mismatch")
        if header["bits"] != features.BITS:
            raise ValueError(
                f"hashed into 2**{header['bits']} buckets, this code uses 2**{features.BITS}"
            )
        if header.get("features") != features.recipe():
            raise ValueError(
                f"trained with features {header.get('features')}, this code uses "
                f"{features.recipe()}"
            )
        n, width = header["buckets"], len(header["outputs"])
        ids = array("I")
        ids.frombytes(payload[: 4 * n])
        weights = array("b")
        weights.frombytes(payload[4 * n : 4 * n + n * width])
        if sys.byteorder != "little":
            ids.byteswap()
        if len(ids) != n or len(weights) != n * width or len(payload) != n * (4 + width):
            raise ValueError("payload length does not match the header")
        if any(a >= b for a, b in pairwise(ids)):
            raise ValueError("bucket ids are not strictly increasing")
        return cls(header, ids, weights)

    # -- scoring ----------------------------------------------------------------------
    def _row(self, bucket: int) -> int:
        """A bucket's packed weights (zeros for a bucket the model does not have), cached:
        bigram buckets repeat too. Misses are remembered up to _BUCKET_CACHE."""
        i = bisect_left(self._ids, bucket)
        if i == len(self._ids) or self._ids[i] != bucket:
            if len(self._packed) >= _BUCKET_CACHE:
                self._packed.clear()
            self._packed[bucket] = self._zero
            return self._zero
        # _pack in C calls (a first run meets ~100,000 new buckets): the int8 bytes shifted
        # by _OFFSET, widened to 32-bit lanes, read as one little-endian int
        shifted = self._weights[i * self._width : (i + 1) * self._width].tobytes().translate(_SHIFT)
        row = self._packed[bucket] = int.from_bytes(self._lanes.pack(*shifted), "little")
        return row

    def _word(self, token: str) -> tuple[int, int, int, int]:
        """A token's unigram bucket, how many features it sets, their packed weights and
        their summed complaint weight (for the reasons); computed once per distinct word."""
        buckets = features.word_buckets(token)
        cached, row = self._packed.get, self._row  # a word's unigram bucket is there 8 times
        packed = sum([cached(b) or row(b) for b in buckets])
        known = (buckets[0], len(buckets), packed, (packed & _LANE_MASK) - _OFFSET * len(buckets))
        if len(self._words) >= _WORD_CACHE:
            self._words.clear()
        self._words[token] = known
        return known

    def score(self, toks: list[str], *, addressed: bool, stars: int | None) -> Score:
        cached, packed, row = self._words.get, self._packed.get, self._row
        mask = features.MASK
        words = [cached(t) or self._word(t) for t in toks]
        # bigrams of each word and the one before (features.pair, inlined: the hot loop)
        heads = list(map(_HEAD, words))
        bigrams = [
            packed(p) or row(p)  # a packed row is never 0
            for p in [((a * 0x9E3779B1) ^ (b + 0x7F4A7C15)) & mask for a, b in pairwise(heads)]
        ]
        repeat = features.WORD_WEIGHT
        count = sum(map(_COUNT, words)) + repeat * len(bigrams)
        total = sum(map(_PACKED, words)) + repeat * sum(bigrams)
        scale = 1.0 / math.sqrt(count) if count else 0.0
        logits = [
            base + lane * unit * scale
            for base, lane, unit in zip(
                self._placed(addressed, stars, len(toks)),
                _unpack(self._lanes, total, count),
                self._scales,
                strict=True,
            )
        ]
        a, b = self.calibration
        topics = [
            name
            for name, logit in zip(self.topics, logits[1:], strict=True)
            if logit >= self.topic_logit
        ]
        return Score(_sigmoid(a * logits[0] + b), topics, self._shown(toks, words, scale))

    def _shown(
        self, toks: list[str], words: list[tuple[int, int, int, int]], scale: float
    ) -> list[tuple[str, float]]:
        """The SHOWN words that moved the complaint logit most (a repeated word by its
        total; the earlier word first on a tie). Counter counts, zip pairs and sorted
        sorts in C: this runs once a post."""
        totals = list(map(_WEIGHT, words))
        distinct = toks
        if len(set(toks)) < len(toks):  # a word said twice: by its total, at its first place
            counts = Counter(toks)
            weight = dict(zip(toks, totals, strict=True))
            totals = [n * weight[t] for t, n in counts.items()]
            distinct = list(counts)
        # sorted by int keys (compared in C, unlike tuples); stable, so a tie keeps the
        # earlier word first
        magnitude = list(map(abs, totals))
        ranked = sorted(range(len(totals)), key=magnitude.__getitem__, reverse=True)
        unit = self._scales[0] * scale
        return [(distinct[i], totals[i] * unit) for i in ranked[:SHOWN]]

    def _placed(self, addressed: bool, stars: int | None, length: int) -> tuple[float, ...]:
        """The biases plus the placement features' weights, per output (a few dozen
        combinations, each summed once; stars outside 1-5 count as none)."""
        key = (
            addressed,
            stars if stars in _STARS else None,
            bisect_left(features.LENGTH_BINS, length),
        )
        known = self._placements.get(key)
        if known is None:
            buckets = features.placement_features(addressed=addressed, stars=stars, length=length)
            rows = [self.placement.get(b, self._zeros) for b in buckets]
            known = self._placements[key] = tuple(
                bias + sum(column)
                for bias, column in zip(self.bias, zip(*rows, strict=True), strict=True)
            )
        return known

    def threshold(self, language: str) -> float:
        return self.thresholds.get(language, self.thresholds["default"])


# the fields of a word's cached tuple (Model._word)
_HEAD, _COUNT, _PACKED, _WEIGHT = (itemgetter(k) for k in range(4))
_STARS = frozenset(range(1, 6))
_LANE = 32  # bits per output: room for 2**24 features of 255 each
_LANE_MASK = (1 << _LANE) - 1
_OFFSET = 128
_SHIFT = bytes((u + _OFFSET) % 256 for u in range(256))  # an int8's byte -> its value + _OFFSET


def _pack(weights: Sequence[int]) -> int:
    return sum((w + _OFFSET) << (_LANE * k) for k, w in enumerate(weights))


def _unpack(lanes: struct.Struct, total: int, count: int) -> list[int]:
    """The summed weights per output of `count` packed rows (`lanes`: the model's)."""
    offset = _OFFSET * count
    return [lane - offset for lane in lanes.unpack(total.to_bytes(lanes.size, "little"))]


def _sigmoid(x: float) -> float:
    if x < -40:
        return 0.0
    return 1.0 / (1.0 + math.exp(-x))


def write(
    path: Path,
    header: dict[str, Any],
    ids: list[int],
    weights: list[list[int]],
) -> bytes:
    """Write a model file; `weights[i]` are bucket `ids[i]`'s int8 weights per output.
    Returns the bytes written (training hashes them for its summary)."""
    id_array = array("I", ids)
    if sys.byteorder != "little":
        id_array.byteswap()
    payload = id_array.tobytes() + array("b", [w for row in weights for w in row]).tobytes()
    header = {**header, "buckets": len(ids), "payload_sha256": hashlib.sha256(payload).hexdigest()}
    data = MAGIC + json.dumps(header, ensure_ascii=False, sort_keys=True).encode() + b"\n" + payload
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data
