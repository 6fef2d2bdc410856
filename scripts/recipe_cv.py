"""Compare training-recipe variants on the main split's out-of-fold scores (never blind/).

For each variant: out-of-fold complaint scores for every row (the five folds of
training.fold_of, as `train` makes them), then per language: average precision, ROC AUC,
the out-of-fold precision/recall at training.lowest_threshold (chosen and measured on the
same scores, as the model header reports them), and the nested figure that predicts unseen
data: the threshold chosen on four folds' scores, precision and recall measured on the
fifth, pooled over the five.

    .venv/bin/python scripts/recipe_cv.py [--by-file] [VARIANT ...]   # default: all; --list

`--by-file` puts all rows of a corpus file in one fold (by a hash of its name): each
file was written in one sitting, with its own brands and habits, so this asks how a
recipe does on rows from a sitting it never saw, nearer to posts written elsewhere than
folds by a hash of each text.

Variants change the shipped recipe (training.py) in training only (what the file holds,
not how it is served) unless marked "(serving)". The features are computed once
(MIN_ROWS 1) and columns dropped per variant. The merge rule used on 2026-12-07: average
precision up >= 0.003 in both languages, or >= 0.005 in one and not down > 0.001 in the
other. One run of all variants takes ~5 minutes on two cores.
"""

from __future__ import annotations

import argparse
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.stats import rankdata

from socialcare.triage import features, training

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "data" / "triage"

# name -> overrides of the shipped recipe (see run()); "shipped" is the shipped recipe
VARIANTS: dict[str, dict[str, Any]] = {
    "shipped": {},
    # the complaint model fitted on idf-scaled features, weights scaled back (serving as is)
    **{f"idf^{a:g}": {"idf": a} for a in (0.5, 1, 1.5)},
    # naive-Bayes scaling (Wang & Manning 2012): each column by |log-count ratio| + f, to p
    **{f"nb f={f:g} p={p:g}": {"nb": (f, p)} for f in (0.1, 0.3) for p in (0.5, 1)},
    **{f"C={c:g}": {"l2": 1 / c} for c in (4, 8, 32)},
    "min_rows=3": {"min_rows": 3},
    "max_iter=200": {"max_iter": 200},
    "balance=class": {"balance": "class"},
    "balance=lang": {"balance": "lang"},
    "balance=lang+class": {"balance": "lang+class"},
    "platt=lang": {"platt": "lang"},
    "bag=folds+full": {"bag": True},
    "second-pass x1": {"second_pass": 1.0},
    "allowed-only": {"allowed_only": True},
    # as served: int8 weights (the shipped scale is the largest weight, quantile 1)
    **{f"int8 q={q:g}": {"quantile": q} for q in (1.0, 0.999)},
    # these change serving (a second weight set; a features.py constant): diagnostics
    "lang-copy (serving)": {"lang_copy": True},
    "word_weight=12 (serving)": {"word_weight": 12},
}


Data = tuple[training.Design, np.ndarray, np.ndarray, np.ndarray]


def load(by_file: bool = False) -> Data:
    """Every feature (MIN_ROWS 1), gold, languages and folds of the main split."""
    read = [(p.name, r) for p in training.corpus_files(CORPUS) for r in training.read_jsonl(p)]
    records = [r for _, r in read]
    file_folds = [zlib.crc32(name.encode()) % training.FOLDS for name, _ in read]
    rows = training.corpus_rows(records)
    shipped = training.MIN_ROWS
    training.MIN_ROWS = 1
    try:
        d = training.design(rows)
    finally:
        training.MIN_ROWS = shipped
    return (
        d,
        np.array([r.complaint for r in rows]),
        np.array([r.language for r in rows]),
        np.array(file_folds if by_file else [training.fold_of(r.text) for r in rows]),
    )


def columns(d: training.Design, min_rows: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """The design as training.design keeps it for `min_rows` (placement always kept), and
    the bucket of each column."""
    rows_with = np.bincount(d.matrix.indices, minlength=d.matrix.shape[1])
    rows_with[np.isin(d.columns, list(features.PLACEMENT.values()))] = min_rows
    keep = np.flatnonzero(rows_with >= min_rows)
    return d.matrix[:, keep].tocsr(), d.columns[keep]


def weights(gold: np.ndarray, lang: np.ndarray, balance: str | None) -> np.ndarray | None:
    """Row weights that give each class (and/or language) the same total, mean 1."""
    if not balance:
        return None
    groups = np.array(
        [
            (lg if "lang" in balance else "") + (str(g) if "class" in balance else "")
            for g, lg in zip(gold, lang, strict=True)
        ]
    )
    names, index, counts = np.unique(groups, return_inverse=True, return_counts=True)
    w = (len(gold) / (len(names) * counts))[index]
    return w / w.mean()


def idf(x: sp.csr_matrix, columns: np.ndarray, power: float) -> np.ndarray:
    """Each column's smoothed idf, log((1 + rows) / (1 + rows with it)) + 1, to `power`;
    placement columns 1: a weaker L2 on rare n-grams than on common ones."""
    rows_with = np.bincount(x.indices, minlength=x.shape[1])
    scale = (np.log((1 + x.shape[0]) / (1 + rows_with)) + 1) ** power
    scale[np.isin(columns, list(features.PLACEMENT.values()))] = 1.0
    return scale


def nb(
    x: sp.csr_matrix, gold: np.ndarray, columns: np.ndarray, floor: float, power: float
) -> np.ndarray:
    """Each column's |log-count ratio| between the classes (add-one), plus `floor`, to
    `power`; placement columns 1: a weaker L2 on words that tell the classes apart."""
    pos = np.asarray(x[gold].sum(axis=0)).ravel() + 1.0
    neg = np.asarray(x[~gold].sum(axis=0)).ravel() + 1.0
    scale = (np.abs(np.log(pos / pos.sum()) - np.log(neg / neg.sum())) + floor) ** power
    scale[np.isin(columns, list(features.PLACEMENT.values()))] = 1.0
    return scale


def logits(
    x: sp.csr_matrix,
    ids: np.ndarray,
    data: Data,
    spec: dict[str, Any],
    train: np.ndarray,
    test: np.ndarray,
) -> np.ndarray:
    """The variant's model trained on rows `train`, scored on rows `test`."""
    d, gold, lang, folds = data
    # what the fold's training rows can learn (as training.train's folds do)
    keep = training.learnable(x[train], ids, spec.get("min_rows", training.MIN_ROWS))
    x, ids = x[:, keep].tocsr(), ids[keep]
    if spec.get("allowed_only"):  # rows the rules reject score 0 whatever the model says
        train = train & d.allowed
    if spec.get("lang_copy"):  # per-language weights beside shared ones (a serving change)
        x = sp.hstack([x] + [sp.diags((lang == lg).astype(float)) @ x for lg in ("da", "en")])
        x = x.tocsr()

    served = x
    scale = np.ones(x.shape[1])
    if spec.get("idf"):
        scale = idf(x[train], ids, spec["idf"])
        x = (x @ sp.diags(scale)).tocsr()
    if spec.get("nb"):
        scale = nb(x[train], gold[train], ids, *spec["nb"])
        x = (x @ sp.diags(scale)).tocsr()

    def one(on: np.ndarray, extra: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        w = weights(gold[on], lang[on], spec.get("balance"))
        if extra is not None:
            w = extra[on] if w is None else w * extra[on]
        return training.fit(x[on], gold[on], l2=spec.get("l2"), weights=w)

    w, b = one(train)
    if spec.get("bag"):  # the full model averaged with the inner-fold models
        models = [(w, b)] + [one(train & (folds != k)) for k in set(folds[train])]
        w = np.mean([m[0] for m in models], axis=0)
        b = np.mean([m[1] for m in models], axis=0)
    if spec.get("second_pass"):  # refit, rows weighted by their inner out-of-fold error
        error = np.zeros(len(gold))
        for k in set(folds[train]):
            inner = train & (folds == k)
            wk, bk = one(train & (folds != k))
            error[inner] = np.abs(training.sigmoid((x[inner] @ wk + bk).ravel()) - gold[inner])
        w, b = one(train, 1.0 + spec["second_pass"] * error)
    w, x = w * scale.reshape(-1, 1), served
    if "quantile" in spec:  # as _pack stores it: int8 per output, scale at this quantile
        words = ~np.isin(ids, list(features.PLACEMENT.values()))
        unit = np.quantile(np.abs(w[words]), spec["quantile"]) / 127.0
        w = w.copy()
        w[words] = np.clip(np.rint(w[words] / unit), -127, 127) * unit
    return (x[test] @ w + b).ravel()


def average_precision(s: np.ndarray, g: np.ndarray) -> float:
    order = np.argsort(-s, kind="stable")
    hits = np.cumsum(g[order])
    precision = hits / np.arange(1, len(s) + 1)
    return float(precision[g[order]].sum() / max(1, g.sum()))


def auc(s: np.ndarray, g: np.ndarray) -> float:
    r = rankdata(s)
    n1, n0 = g.sum(), (~g).sum()
    return float((r[g].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def pr(s: np.ndarray, g: np.ndarray, t: float) -> tuple[int, int, int]:
    p = s >= t
    return int((p & g).sum()), int((p & ~g).sum()), int((~p & g).sum())


SHIPPED = {"word_weight": features.WORD_WEIGHT, "max_iter": training.MAX_ITER}


def run(spec: dict[str, Any], data: Data, by_file: bool = False) -> dict[str, dict[str, float]]:
    try:
        if "word_weight" in spec:  # a features.py constant: serving would change with it
            features.WORD_WEIGHT = spec["word_weight"]
            features.word_buckets.cache_clear()
            data = load(by_file)
        d, gold, lang, folds = data
        x, ids = columns(d, spec.get("min_rows", training.MIN_ROWS))
        training.MAX_ITER = spec.get("max_iter", SHIPPED["max_iter"])
        oof = np.zeros(len(gold))
        for k in range(training.FOLDS):
            oof[folds == k] = logits(x, ids, data, spec, folds != k, folds == k)
    finally:
        training.MAX_ITER = SHIPPED["max_iter"]
        if SHIPPED["word_weight"] != features.WORD_WEIGHT:
            features.WORD_WEIGHT = SHIPPED["word_weight"]
            features.word_buckets.cache_clear()
    scores = np.zeros(len(gold))
    for group in [lang == g for g in set(lang)] if spec.get("platt") == "lang" else [gold | True]:
        a, c = training.platt(oof[group], gold[group])
        scores[group] = training.sigmoid(a * oof[group] + c)
    scores = np.where(d.allowed, scores, 0.0)
    out = {}
    for lg in sorted(set(lang)):
        on = lang == lg
        s, g = scores[on], gold[on]
        tp, fp, fn = pr(s, g, training.lowest_threshold(s, g, training.MIN_PRECISION))
        nested = np.zeros(3, int)
        for k in range(training.FOLDS):
            held = folds[on] == k
            t = training.lowest_threshold(s[~held], g[~held], training.MIN_PRECISION)
            nested += pr(s[held], g[held], t)
        ntp, nfp, nfn = nested
        out[lg] = {
            "AP": average_precision(s, g),
            "AUC": auc(s, g),
            "P": tp / max(1, tp + fp),
            "R": tp / max(1, tp + fn),
            "nP": ntp / max(1, ntp + nfp),
            "nR": ntp / max(1, ntp + nfn),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("variants", nargs="*", help="names (default: all)")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--by-file", action="store_true", help="folds by corpus file")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(VARIANTS))
        return 0
    data = load(args.by_file)
    print(
        "| variant | da AP | da AUC | da P/R | da nested P/R | en AP | en AUC | en P/R"
        " | en nested P/R | s |\n|---|---|---|---|---|---|---|---|---|---|"
    )
    for name in args.variants or VARIANTS:
        started = time.monotonic()
        r = run(VARIANTS[name], data, args.by_file)
        cells = [
            f"{m['AP']:.4f} | {m['AUC']:.4f} | {m['P']:.3f}/{m['R']:.3f}"
            f" | {m['nP']:.3f}/{m['nR']:.3f}"
            for m in (r["da"], r["en"])
        ]
        print(f"| {name} | {' | '.join(cells)} | {time.monotonic() - started:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
