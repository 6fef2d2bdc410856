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
import itertools
import json
import math
import os
import sys
from array import array
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from socialcare.errors import ConfigError
from socialcare.triage import features

MAGIC = b"socialcare-triage-model 1\n"
FILE_NAME = "triage-model.bin"
MODEL_ENV = "SOCIALCARE_TRIAGE_MODEL"  # a model directory (or file) to use instead
_WORD_CACHE = 100_000  # distinct words remembered per model; cleared when full


def shipped_path() -> Path:
    return Path(str(resources.files("socialcare").joinpath("data", FILE_NAME)))


def resolve(location: str | os.PathLike[str] | None = None) -> Path:
    """The model file: `location` (a directory or the file), else $SOCIALCARE_TRIAGE_MODEL,
    else the one shipped in the layer."""
    chosen = location or os.environ.get(MODEL_ENV) or shipped_path()
    path = Path(chosen)
    return path / FILE_NAME if path.is_dir() else path


@dataclass(frozen=True)
class Score:
    probability: float  # calibrated
    topics: list[str]
    words: list[tuple[str, float]]  # (token, contribution to the complaint logit), by weight


class Model:
    """Weights read from a model file; `score(tokens, ...)` for one post."""

    def __init__(self, header: dict[str, Any], ids: array[int], weights: array[int]) -> None:
        self.header = header
        self.outputs: list[str] = header["outputs"]  # "complaint", then topic names
        self.topics = self.outputs[1:]
        width = len(self.outputs)
        scales = header["scales"]
        self.bias: list[float] = header["bias"]
        self.placement = {int(k): v for k, v in header["placement"].items()}
        self.calibration: tuple[float, float] = tuple(header["calibration"])  # type: ignore[assignment]
        self.thresholds: dict[str, float] = header["thresholds"]
        self.topic_thresholds: list[float] = header["topic_thresholds"]
        # bucket -> per-output weights, dequantised once at load
        rows = [
            tuple(weights[i * width + k] * scales[k] for k in range(width)) for i in range(len(ids))
        ]
        self._rows = dict(zip(ids, rows, strict=True))
        self._zero = (0.0,) * width
        self._words: dict[str, tuple[int, tuple[float, ...]]] = {}

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
        n, width = header["buckets"], len(header["outputs"])
        ids = array("I")
        ids.frombytes(payload[: 4 * n])
        weights = array("b")
        weights.frombytes(payload[4 * n : 4 * n + n * width])
        if sys.byteorder != "little":
            ids.byteswap()
        if len(ids) != n or len(weights) != n * width or len(payload) != n * (4 + width):
            raise ValueError("payload length does not match the header")
        return cls(header, ids, weights)

    # -- scoring ----------------------------------------------------------------------
    def _word(self, token: str) -> tuple[int, tuple[float, ...]]:
        """How many features a token sets and their summed weights per output."""
        known = self._words.get(token)
        if known is None:
            buckets = features.word_buckets(token)
            rows = [self._rows.get(b, self._zero) for b in buckets]
            known = (len(buckets), tuple(map(sum, zip(*rows, strict=True))))
            if len(self._words) >= _WORD_CACHE:
                self._words.clear()
            self._words[token] = known
        return known

    def score(self, toks: list[str], *, addressed: bool, stars: int | None) -> Score:
        width = len(self.outputs)
        sums = [0.0] * width
        count = 0
        per_word: dict[str, float] = {}
        heads = []
        for token in toks:
            n, contribution = self._word(token)
            count += n
            for k in range(width):
                sums[k] += contribution[k]
            per_word[token] = per_word.get(token, 0.0) + contribution[0]
            heads.append(features.word_buckets(token)[0])
        for a, b in itertools.pairwise(heads):
            row = self._rows.get(features.pair(a, b))
            if row is not None:
                for k in range(width):
                    sums[k] += row[k]
        count += max(0, len(heads) - 1)
        scale = 1.0 / math.sqrt(count) if count else 0.0
        logits = [self.bias[k] + sums[k] * scale for k in range(width)]
        for bucket in features.placement_features(addressed=addressed, stars=stars):
            for k, weight in enumerate(self.placement.get(bucket, self._zero)):
                logits[k] += weight
        a, b = self.calibration
        probability = _sigmoid(a * logits[0] + b)
        topics = [
            name
            for name, logit, cut in zip(self.topics, logits[1:], self.topic_thresholds, strict=True)
            if _sigmoid(logit) >= cut
        ]
        words = sorted(((t, w * scale) for t, w in per_word.items()), key=lambda tw: -abs(tw[1]))
        return Score(probability, topics, words)

    def threshold(self, language: str) -> float:
        return self.thresholds.get(language, self.thresholds["default"])


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
