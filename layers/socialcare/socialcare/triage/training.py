"""Train the triage model: the recipe `socialcare train` and `make train` run.

Local only (numpy and scipy, the `dev` extra; never in the layer). Deterministic: folds
come from a hash of each text, the solver (Newton-CG) has no randomness. The seven fits
run in two processes (SOCIALCARE_TRAIN_WORKERS; 1 runs them in turn, to the same file).

1. Rows: the labeled corpus (data/triage/*.jsonl, never its blind/ split) plus extra rows.
   Each row's brand names are masked as BRAND, the corpus's other brands as OTHER.
2. Features (features.py) into a sparse matrix: word features scaled 1/sqrt(n), placement 1.
3. Five folds: out-of-fold complaint logits for every row. On them, a Platt calibration
   and, per language, the threshold: by default the lowest whose precision (after the
   rules) is at least `min_precision` plus a margin for the optimism of that pick
   (threshold_margin); with objective "macro-f1", the one of best macro-F1.
4. The complaint model on all rows, and one model per topic on the complaints that carry
   topic labels (multi-label); their weights quantised to int8 per output and written
   with model.write.

Extra rows (a company's own labels, `--extra`) are its traffic and its notion of a
complaint, which may differ from the corpus's. So with extra rows the complaint model
learns, beside the weights all rows share, a second set that only extra rows use, and an
intercept only corpus rows use ("frustratingly easy" domain adaptation, Daume 2007); the
file serves shared + extra weights. A few extra rows barely move their own set (L2), many
override the corpus where they disagree. Given EXTRA_FOR_THRESHOLD extra rows or more,
EXTRA_PER_CLASS of each class, the calibration is fitted on their out-of-fold scores, and
so is the threshold of each language that has that many on its own. Without extra rows
(`make train`) nothing of this applies.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
import sys
import threading
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize

from socialcare.models import TOPICS
from socialcare.triage import features, model, rules

FOLDS = 5
L2 = 1 / 16  # C = 16, chosen by cross-validation on the main corpus (1, 4, 16, 64)
MIN_PRECISION = 0.95
MAX_ITER = 60
MIN_ROWS = 2  # a feature must occur in this many rows to be learned
# A topic is given from this logit on (p >= 0.27): on out-of-fold topic scores of the main
# split, 0 gave P 0.86 / R 0.52, -1 P 0.77 / R 0.64 (F1 0.65 -> 0.70).
TOPIC_LOGIT = -1.0
# A language's threshold is chosen on its extra rows alone when it has this many of them,
# with at least EXTRA_PER_CLASS of each class (fewer choose a threshold by chance).
EXTRA_FOR_THRESHOLD = 100
EXTRA_PER_CLASS = 20
# The lowest threshold that keeps precision on the validation scores is an optimistic
# pick: chosen where those scores happened to do well, unseen rows give it a little less
# (on the main split, chosen on 80 % and measured on the other 20 %: 0.9499 and 0.9482).
# So the target is raised by the smallest of these margins at which that nested precision
# holds in every language with MARGIN_MIN_ROWS rows, MARGIN_PER_CLASS of each class; on
# fewer rows the estimate says nothing about the rows at hand (a review's simulation).
MARGINS = (0.0, 0.0025, 0.005, 0.0075, 0.01, 0.0125, 0.015, 0.0175, 0.02)
MARGIN_MIN_ROWS = 1000
MARGIN_PER_CLASS = 100
NESTED_SPLITS = 200
NESTED_HELD = 0.2
OBJECTIVES = ("precision", "macro-f1")
# The seven fits of a training (five folds, the complaint model, the topic models) are
# independent: they run in this many processes (at most the cores), 1 runs them in turn;
# None reads SOCIALCARE_TRAIN_WORKERS (default 2).
WORKERS: int | None = None


@dataclass
class Row:
    text: str
    complaint: bool
    language: str = "en"
    addressed: bool = False
    stars: int | None = None
    topics: list[str] | None = None  # None: not labeled (topics are learned from labeled rows)
    masker: features.Masker | None = None
    any_mode: bool = False
    extra: bool = False  # a row of --extra (a company's labels), not of the corpus


def corpus_files(root: Path) -> list[Path]:
    """The main split: data/triage/*.jsonl (the blind split in blind/ is never read)."""
    return sorted(root.glob("*.jsonl"))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except ValueError as exc:
                raise ValueError(f"{path}:{number}: {exc}") from exc
    return rows


def brand_aliases(rows: Sequence[dict[str, Any]]) -> dict[str, list[str]]:
    """Each brand's names, as a company's brand file would list them: the full name, and
    each longer word of a multi-word name that names this brand and nothing else: no
    other brand's name has it, the rows of other brands use it no more often than the
    brand's own rows (there it is a competitor's name, "Brightline" of "Brightline
    Broadband"; a word all brands use is not, "Broadband"), and where it stands alone
    (full brand names taken out of the texts) it is written capitalised at least half the
    time (a proper name, not "cable" of "Cascade Cable" or "removals" of "Moveright
    Removals"); a word never written alone gives no evidence against it.

    Before, a word any other brand's row used was never an alias: a competitor mention
    in one row took the short name from its brand, and 62 English complaints of the main
    split that use only the short name were refused as "not about the brand"."""
    brands = sorted({row["brand"] for row in rows})
    full_names = re.compile(
        "|".join(re.escape(b) for b in sorted(brands, key=len, reverse=True)), re.IGNORECASE
    )
    in_names: dict[str, set[str]] = defaultdict(set)
    rows_with: dict[str, Counter[str]] = defaultdict(Counter)
    written, capitalised = Counter[str](), Counter[str]()
    for brand in brands:
        for word in re.findall(r"\w+", features.fold(brand)):
            in_names[word].add(brand)
    for row in rows:
        alone = full_names.sub(" ", row["text"])
        for token in re.findall(r"\w+", alone):
            word = features.fold(token)
            written[word] += 1
            capitalised[word] += token[:1].isupper()
        for word in set(re.findall(r"\w+", features.fold(row["text"]))):
            rows_with[word][row["brand"]] += 1
    names: dict[str, list[str]] = {}
    for brand in brands:
        words = re.findall(r"\w+", features.fold(brand))
        own = []
        for w in words:
            if len(words) < 2 or len(w) < 4 or in_names[w] != {brand}:
                continue
            mine = rows_with[w][brand]
            if sum(rows_with[w].values()) - mine > mine or capitalised[w] * 2 < written[w]:
                continue
            own.append(w)
        names[brand] = [brand, *own]
    return names


def corpus_rows(records: Sequence[dict[str, Any]]) -> list[Row]:
    names = brand_aliases(records)
    everyone = [n for ns in names.values() for n in ns]
    maskers = {
        brand: features.Masker.build(ns, [n for n in everyone if n not in ns])
        for brand, ns in names.items()
    }
    return [
        Row(
            text=r["text"],
            complaint=bool(r["complaint"]),
            language=r["language"],
            addressed=bool(r["addressed"]),
            stars=r.get("stars"),
            topics=list(r.get("topics", [])),
            masker=maskers[r["brand"]],
        )
        for r in records
    ]


def extra_rows(
    records: Iterable[dict[str, Any]], masker: features.Masker, any_mode: bool
) -> list[Row]:
    """Rows of `--extra`: {"id", "text", "complaint", "lang"?, "addressed"?, "stars"?,
    "topics"?}, masked as the triage command will mask posts for the same brand."""
    out = []
    for r in records:
        if not isinstance(r.get("text"), str) or not isinstance(r.get("complaint"), bool):
            raise ValueError(f"extra row {r.get('id')!r}: needs a text and a boolean complaint")
        stars = r.get("stars")
        if stars is not None and (isinstance(stars, bool) or stars not in range(1, 6)):
            raise ValueError(f"extra row {r.get('id')!r}: stars must be 1-5")
        out.append(
            Row(
                text=r["text"],
                complaint=r["complaint"],
                language=r.get("lang") or "en",
                addressed=bool(r.get("addressed")),
                stars=stars,
                topics=r.get("topics"),
                masker=masker,
                any_mode=any_mode,
                extra=True,
            )
        )
    return out


# -- features to a matrix ------------------------------------------------------------


@dataclass
class Design:
    matrix: sp.csr_matrix  # rows x used columns
    columns: np.ndarray  # bucket id of each column
    allowed: np.ndarray  # may the rules let each row be a complaint?


def design(rows: Sequence[Row]) -> Design:
    indices: list[int] = []
    values: list[float] = []
    pointers = [0]
    allowed = []
    for row in rows:
        assert row.masker is not None
        toks = features.tokens(row.text, row.masker)
        addressed = features.directed(toks, addressed=row.addressed, any_mode=row.any_mode)
        words = features.text_features(toks)
        scale = len(words) ** -features.LENGTH_POWER if words else 0.0
        for bucket, count in Counter(words).items():
            indices.append(bucket)
            values.append(count * scale)
        for bucket in features.placement_features(
            addressed=addressed, stars=row.stars, length=len(toks)
        ):
            indices.append(bucket)
            values.append(1.0)
        pointers.append(len(indices))
        mode = "any" if row.any_mode else "brand"
        allowed.append(rules.judge(toks, mode=mode, addressed=addressed, stars=row.stars).allowed)
    full = sp.csr_matrix(
        (np.array(values), np.array(indices, dtype=np.int64), np.array(pointers)),
        shape=(len(rows), 1 << features.BITS),
    )
    full.sum_duplicates()
    # A feature of a single row only memorises that row: left out, it costs the solver
    # nothing and the model file no bytes (serving counts it in n all the same).
    rows_with = np.bincount(full.indices, minlength=full.shape[1])
    rows_with[list(features.PLACEMENT.values())] = MIN_ROWS
    columns = np.flatnonzero(rows_with >= MIN_ROWS)
    return Design(full[:, columns].tocsr(), columns, np.array(allowed))


# -- the solver -------------------------------------------------------------------------


def fit(
    x: sp.csr_matrix,
    y: np.ndarray,
    l2: float | None = None,
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Independent L2 logistic regressions, one per column of y (0/1), by Newton-CG, rows
    weighted by `weights`. Returns weights (features x outputs) and biases (outputs);
    biases are not penalised."""
    l2 = L2 if l2 is None else l2
    n, d = x.shape
    y = y.reshape(n, -1).astype(float)
    k = y.shape[1]
    s = np.ones((n, 1)) if weights is None else weights.reshape(n, 1)
    xt = x.T.tocsr()
    curvature: dict[str, np.ndarray] = {}

    def split(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return theta[: d * k].reshape(d, k), theta[d * k :]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = split(theta)
        z = x @ w + b
        p = 1.0 / (1.0 + np.exp(-z))
        curvature["d"] = p * (1.0 - p) * s
        value = float(((np.logaddexp(0.0, z) - y * z) * s).sum() + 0.5 * (l2 * w * w).sum())
        g = (p - y) * s
        return value, np.concatenate([(xt @ g + l2 * w).ravel(), g.sum(axis=0)])

    def hessp(theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        vw, vb = split(v)
        r = (x @ vw + vb) * curvature["d"]
        return np.concatenate([(xt @ r + l2 * vw).ravel(), r.sum(axis=0)])

    start = np.zeros(d * k + k)
    result = minimize(
        loss, start, jac=True, hessp=hessp, method="Newton-CG", options={"maxiter": MAX_ITER}
    )
    return split(result.x)


def fold_of(text: str) -> int:
    return zlib.crc32(text.encode("utf-8", "surrogatepass")) % FOLDS


def platt(logits: np.ndarray, gold: np.ndarray) -> tuple[float, float]:
    """Calibration: p = sigmoid(a * logit + b), fitted on out-of-fold logits."""
    w, b = fit(sp.csr_matrix(logits.reshape(-1, 1)), gold.astype(float), l2=1e-6)
    return float(w[0, 0]), float(b[0])


def adapted(x: sp.csr_matrix, extra: np.ndarray) -> sp.csr_matrix:
    """The domain-adapted design: [shared | extra rows' own copy | corpus intercept]."""
    own = sp.diags(extra.astype(float)) @ x
    corpus = sp.csr_matrix((~extra).astype(float).reshape(-1, 1))
    return sp.hstack([x, own, corpus]).tocsr()


def learnable(x: sp.csr_matrix, columns: np.ndarray, min_rows: int = MIN_ROWS) -> np.ndarray:
    """Which columns a fit on these rows learns: those in `min_rows` of them, placement
    always (`columns`: each column's bucket)."""
    rows_with = np.bincount(x.indices, minlength=x.shape[1])
    return (rows_with >= min_rows) | np.isin(columns, list(features.PLACEMENT.values()))


def fit_complaint(
    x: sp.csr_matrix, y: np.ndarray, extra: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The complaint model as served: with extra rows, shared + their own weights."""
    if not extra.any():
        return fit(x, y)
    w, b = fit(adapted(x, extra), y)
    d = x.shape[1]
    return w[:d] + w[d : 2 * d], b


def best_macro_f1_threshold(scores: np.ndarray, gold: np.ndarray) -> float:
    """The score from which on decisions give the best macro-F1 (of both classes)."""
    order = np.argsort(-scores, kind="stable")
    s, g = scores[order], gold[order].astype(bool)
    tp = np.cumsum(g)
    fp = np.arange(1, len(s) + 1) - tp
    fn, tn = g.sum() - tp, (~g).sum() - fp
    with np.errstate(invalid="ignore", divide="ignore"):
        macro = np.nan_to_num(tp / (2 * tp + fp + fn) + tn / (2 * tn + fn + fp))
    cuts = np.flatnonzero(_ends_of_ties(s))
    return float(s[cuts[np.argmax(macro[cuts])]])


def _ends_of_ties(ranked: np.ndarray) -> np.ndarray:
    """The last row of each run of equal scores: a threshold decides all rows of its score."""
    return np.append(ranked[1:] != ranked[:-1], True)


def choose_threshold(
    scores: np.ndarray, gold: np.ndarray, objective: str, min_precision: float
) -> float:
    if objective == "macro-f1":
        return best_macro_f1_threshold(scores, gold)
    return lowest_threshold(scores, gold, min_precision)


def lowest_threshold(scores: np.ndarray, gold: np.ndarray, min_precision: float) -> float:
    """The lowest score whose decisions keep precision >= min_precision (most recall)."""
    order = np.argsort(-scores, kind="stable")
    ranked = scores[order]
    hits = np.cumsum(gold[order])
    precision = hits / np.arange(1, len(order) + 1)
    ok = np.flatnonzero((precision >= min_precision) & _ends_of_ties(ranked))
    if not len(ok):
        return 1.0
    return float(ranked[ok[-1]])


def nested_precision(scores: np.ndarray, gold: np.ndarray, target: float) -> float:
    """Precision on unseen rows of the threshold lowest_threshold picks for `target`:
    chosen on 80 % of the rows, measured on the other 20 %, pooled over fixed random splits
    (nan when it never says anything: no precision was kept)."""
    gold = gold.astype(bool)
    rng = np.random.default_rng(0)  # the same splits for every target: margins compare
    tp = fp = 0
    for _ in range(NESTED_SPLITS):
        held = rng.random(len(scores)) < NESTED_HELD
        said = scores[held] >= lowest_threshold(scores[~held], gold[~held], target)
        tp += int((said & gold[held]).sum())
        fp += int((said & ~gold[held]).sum())
    return tp / (tp + fp) if tp + fp else float("nan")


def threshold_margin(
    groups: Iterable[tuple[np.ndarray, np.ndarray]],
    min_precision: float,
    say: Callable[[str], None] = lambda message: None,
) -> float:
    """The smallest margin at which the nested precision of every group (language) large
    enough to estimate it holds; 0 when none is."""
    groups = [
        (s, g)
        for s, g in groups
        if len(g) >= MARGIN_MIN_ROWS and min(g.sum(), (~g).sum()) >= MARGIN_PER_CLASS
    ]
    if not groups:
        return 0.0
    margins = [m for m in MARGINS if min_precision + m <= 1.0] or [0.0]
    for margin in margins:
        nested = [nested_precision(s, g, min_precision + margin) for s, g in groups]
        if all(p >= min_precision for p in nested):  # nan (nothing said) never holds
            return margin
    say(
        f"warning: precision {min_precision} not reached on unseen rows even with margin "
        f"{margins[-1]} (nested precision {', '.join(f'{p:.3f}' for p in nested)})"
    )
    return margins[-1]


# -- the recipe ---------------------------------------------------------------------------


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def fold_fit(
    d: Design, gold: np.ndarray, extra: np.ndarray, test: np.ndarray
) -> Callable[[], np.ndarray]:
    """The held-out rows' complaint logits from a model of the other rows (a job)."""

    def job() -> np.ndarray:
        # Only what the fold's own rows can teach: a feature of one training row and one
        # held-out row passes MIN_ROWS over all rows, which the shipped fit never sees.
        part = d.matrix[~test]
        keep = learnable(part, d.columns)
        w, b = fit_complaint(part[:, keep], gold[~test], extra[~test])
        return (d.matrix[test][:, keep] @ w + b).ravel()

    return job


def out_of_fold_logits(
    d: Design,
    gold: np.ndarray,
    extra: np.ndarray,
    folds: np.ndarray,
    beside: Sequence[tuple[str, Callable[[], Any]]] = (),
    say: Callable[[str], None] = lambda message: None,
) -> tuple[np.ndarray, list[Any]]:
    """Each row's complaint logit from the model of the other folds, and the results of
    the named jobs `beside`, run with the folds' (run_jobs)."""
    held = [folds == k for k in range(FOLDS)]
    folds_ = [
        (
            f"fold {k + 1}/{FOLDS} ({int((~test).sum())} to train, {int(test.sum())} to check)",
            fold_fit(d, gold, extra, test),
        )
        for k, test in enumerate(held)
    ]
    # the longer fits (on all rows) first: the processes then finish together
    results = run_jobs([*beside, *folds_], say)
    out = np.zeros(len(gold))
    for test, logits in zip(held, results[len(beside) :], strict=True):
        out[test] = logits
    return out, results[: len(beside)]


_JOBS: list[Callable[[], Any]] = []


def processes(jobs: int) -> int:
    """How many processes run_jobs uses for this many jobs (1: in turn)."""
    # _JOBS set: inside a job (a nested call), whose process is a pool's child already
    wanted = WORKERS if WORKERS is not None else _workers_setting()
    if not sys.platform.startswith("linux") or threading.active_count() > 1 or _JOBS:
        return 1
    return max(1, min(wanted, jobs, os.cpu_count() or 1))


def _workers_setting() -> int:
    raw = os.environ.get("SOCIALCARE_TRAIN_WORKERS", "2").strip()
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"SOCIALCARE_TRAIN_WORKERS must be a whole number >= 1, not {raw!r}")
    return int(raw)


def _run_job(index: int) -> Any:
    return _JOBS[index]()


def run_jobs(
    jobs: Sequence[tuple[str, Callable[[], Any]]],
    say: Callable[[str], None] = lambda message: None,
) -> list[Any]:
    """The named jobs' results in order, computed in up to WORKERS processes; each name
    is said when its result is in. Forked, so each job inherits the design matrices
    instead of receiving a pickled copy; every job is deterministic, so the results (and
    the model file) are the same as in turn. Only from a single-threaded process
    (`socialcare train`): a fork copies no other thread, and a lock one of them held
    would stay locked in the child."""
    workers = processes(len(jobs))
    say(f"{len(jobs)} fits in {workers} process{'es' if workers > 1 else ''}")
    if workers == 1:  # from the list itself: no global a nested call or thread could swap
        return [_done(name, job(), say) for name, job in jobs]
    global _JOBS
    previous, _JOBS = _JOBS, [job for _, job in jobs]  # a forked child reads its copy
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            done = pool.map(_run_job, range(len(jobs)))
            return [_done(name, result, say) for (name, _), result in zip(jobs, done, strict=True)]
    finally:
        _JOBS = previous


def _done(name: str, result: Any, say: Callable[[str], None]) -> Any:
    say(f"{name}: done")
    return result


def train(
    rows: Sequence[Row],
    out_dir: Path,
    *,
    min_precision: float = MIN_PRECISION,
    objective: str = "precision",
    note: dict[str, Any] | None = None,
    say: Callable[[str], None] = lambda message: print(message, file=sys.stderr),
) -> dict[str, Any]:
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}")
    started = time.monotonic()
    say(f"features of {len(rows)} rows")
    d = design(rows)
    gold = np.array([r.complaint for r in rows])
    languages = np.array([r.language for r in rows])
    folds = np.array([fold_of(r.text) for r in rows])
    extra = np.array([r.extra for r in rows])
    # Topics say what a complaint is about: learned from the complaints that carry them.
    labeled = np.array([r.complaint and r.topics is not None for r in rows])
    topic_gold = np.array([[t in (r.topics or ()) for t in TOPICS] for r in rows])[labeled]

    out_of_fold, [(w, b), (tw, tb)] = out_of_fold_logits(
        d,
        gold,
        extra,
        folds,
        beside=[
            ("complaint model on all rows", lambda: fit_complaint(d.matrix, gold, extra)),
            (
                f"topic models on {int(labeled.sum())} complaints",
                lambda: fit(d.matrix[labeled], topic_gold),
            ),
        ],
        say=say,
    )
    # Calibrated and thresholded on the extra rows when there are any: they are the
    # company's traffic and its notion of a complaint.
    ref = extra if _enough(gold[extra]) else np.ones(len(rows), bool)
    a, c = platt(out_of_fold[ref], gold[ref])
    scores = np.where(d.allowed, sigmoid(a * out_of_fold + c), 0.0)
    chosen_on = {}
    for lang in sorted(set(languages)):
        own = languages == lang
        chosen_on[lang] = own & extra if _enough(gold[own & extra]) else own
    margin = 0.0
    if objective == "precision":
        say("threshold margin")
        # a language's extra rows, when too few to estimate it on, borrow all its rows
        estimate_on = [
            on if on.sum() >= MARGIN_MIN_ROWS else languages == lang
            for lang, on in chosen_on.items()
        ]
        groups = ((scores[on], gold[on]) for on in estimate_on)
        margin = threshold_margin(groups, min_precision, say)
    thresholds = {
        lang: choose_threshold(scores[on], gold[on], objective, min_precision + margin)
        for lang, on in chosen_on.items()
    }
    # other languages: the stricter of those that could choose one (1.0 keeps no rows)
    thresholds["default"] = max([t for t in thresholds.values() if t < 1.0] or [1.0])

    header, ids, quantised = _pack(d.columns, np.hstack([w, tw]), np.concatenate([b, tb]))
    header.update(
        calibration=[a, c],
        topic_logit=TOPIC_LOGIT,
        thresholds={k: round(v, 4) for k, v in thresholds.items()},
        trained={
            "rows": len(rows),
            "min_precision": min_precision,
            "l2": L2,
            "folds": FOLDS,
            "validation": _validation(scores, gold, chosen_on, thresholds),
            **(note or {}),
        },
    )
    thresholds_on = {
        lang: "all rows" if (on & ~extra).any() else "extra rows" for lang, on in chosen_on.items()
    }
    if objective == "precision":
        header["trained"]["threshold_margin"] = margin
    if extra.any() or objective != "precision":  # only then: `make train` needs neither
        header["trained"].update(objective=objective, thresholds_on=thresholds_on)
    path = out_dir / model.FILE_NAME
    data = model.write(path, header, ids, quantised)
    say(f"wrote {path} ({len(data):,} bytes) in {time.monotonic() - started:.1f} s")
    return {
        "rows": len(rows),
        "model": str(path),
        "model_bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "thresholds": header["thresholds"],
        "threshold_margin": margin,
        "thresholds_on": thresholds_on,
        "validation": header["trained"]["validation"],
        "seconds": round(time.monotonic() - started, 1),
    }


def _enough(gold: np.ndarray) -> bool:
    """Enough extra rows to choose a calibration or threshold on them alone?"""
    each = min(int(gold.sum()), int((~gold).sum()))
    return len(gold) >= EXTRA_FOR_THRESHOLD and each >= EXTRA_PER_CLASS


def _validation(
    scores: np.ndarray,
    gold: np.ndarray,
    chosen_on: dict[str, np.ndarray],
    thresholds: dict[str, float],
) -> dict[str, dict[str, float]]:
    """Out-of-fold precision and recall at the chosen thresholds, per language, on the
    rows each threshold was chosen on."""
    out = {}
    for lang, on in chosen_on.items():
        s, g = scores[on], gold[on]
        p = s >= thresholds[lang]
        tp = int((p & g).sum())
        out[lang] = {
            "precision": round(tp / max(1, int(p.sum())), 3),
            "recall": round(tp / max(1, int(g.sum())), 3),
        }
    return out


def _pack(
    columns: np.ndarray, w: np.ndarray, b: np.ndarray
) -> tuple[dict[str, Any], list[int], list[list[int]]]:
    """Placement weights go in the header as they are; word weights are quantised to int8
    per output, and buckets whose weights all round to 0 are dropped."""
    placement_ids = set(features.PLACEMENT.values())
    is_placement = np.isin(columns, list(placement_ids))
    placement = {
        str(int(col)): [round(float(v), 5) for v in w[i]]
        for i, col in enumerate(columns)
        if is_placement[i]
    }
    words = w[~is_placement]
    scales = np.abs(words).max(axis=0) / 127.0
    scales[scales == 0] = 1.0
    q = np.rint(words / scales).astype(np.int8)
    keep = np.flatnonzero((q != 0).any(axis=1))
    header = {
        "bits": features.BITS,
        "features": features.recipe(),
        "outputs": ["complaint", *TOPICS],
        "bias": [round(float(v), 6) for v in b],
        "scales": [float(s) for s in scales],
        "placement": placement,
    }
    return header, [int(c) for c in columns[~is_placement][keep]], q[keep].tolist()
