"""The learned triage model: the shipped file, its loading, features, rules and retraining.

Quality figures are `make eval`'s (docs/triage.md); these tests hold the behaviour that
would break without the feature. No timings here (they are `make bench`'s).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from socialcare.brand import Brand, load_brand
from socialcare.errors import ConfigError
from socialcare.triage import features, model
from socialcare.triage.learned import LearnedClassifier, brand_masker, load_classifier
from socialcare.triage.model import Model
from socialcare_cli.main import main
from tests.conftest import TESTS

FIXED_SET = [
    json.loads(line)
    for line in (TESTS / "data" / "devset.jsonl").read_text("utf-8").splitlines()
    if line.strip()
]


@pytest.fixture(scope="module")
def clf() -> LearnedClassifier:
    return load_classifier(load_brand())


# -- the model file ------------------------------------------------------------------------


def test_the_shipped_model_is_small_and_complete() -> None:
    path = model.shipped_path()
    assert path.stat().st_size <= 5 * 1024 * 1024
    loaded = Model.load()
    assert loaded.outputs[0] == "complaint" and "outage" in loaded.topics
    assert {"da", "en", "default"} <= set(loaded.thresholds)
    assert loaded.header["trained"]["validation"]["da"]["precision"] >= 0.95


def test_a_missing_model_is_a_config_error_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(ConfigError, match=re.escape(str(missing))):
        load_classifier(load_brand(), missing)


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: b"not a model\n" + data,  # wrong magic
        lambda data: data[:-7],  # cut short
        lambda data: data[:-1] + bytes([data[-1] ^ 0xFF]),  # a flipped weight
        lambda data: data.replace(b'"bits": 20', b'"bits": 18'),  # other hashing
        lambda data: data[: data.index(b"\n", 30)],  # header only
    ],
)
def test_a_corrupt_model_is_a_config_error_naming_the_path(tmp_path: Path, damage: Any) -> None:
    path = tmp_path / model.FILE_NAME
    path.write_bytes(damage(model.shipped_path().read_bytes()))
    with pytest.raises(ConfigError, match=re.escape(str(path))):
        load_classifier(load_brand(), tmp_path)


def test_bucket_ids_out_of_order_are_a_config_error(tmp_path: Path) -> None:
    """Weights are found by bisection over the ids, so ids out of order would silently
    read as zeros: such a file is refused instead."""
    shipped = Model.load()
    ids = list(shipped._ids)
    width = len(shipped.outputs)
    rows = [list(shipped._weights[i * width : (i + 1) * width]) for i in range(len(ids))]
    ids[0], ids[1] = ids[1], ids[0]
    header = {k: v for k, v in shipped.header.items() if k not in ("buckets", "payload_sha256")}
    model.write(tmp_path / model.FILE_NAME, header, ids, rows)
    with pytest.raises(ConfigError, match="not strictly increasing"):
        load_classifier(load_brand(), tmp_path)


def test_every_bucket_of_the_file_is_found_and_no_other() -> None:
    loaded = Model.load()
    width = len(loaded.outputs)
    ids = list(loaded._ids)
    for k in range(0, len(ids), 97):  # a spread of rows, first and last included
        row = loaded._row(ids[k])
        assert row == model._pack(loaded._weights[k * width : (k + 1) * width])
        assert row != loaded._zero
    last = len(ids) - 1
    assert loaded._row(ids[last]) == model._pack(loaded._weights[last * width :])
    absent = sorted(set(range(ids[0], ids[0] + 50_000)) - set(ids))[:50]
    assert all(loaded._row(b) == loaded._zero for b in [*absent, ids[-1] + 1, 0])


def test_the_function_reads_its_configured_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """TriageMentions builds the classifier from TRIAGE_MODEL at cold start: a bad
    location fails there, naming it, instead of classifying with something else."""
    from socialcare import wiring

    env = {
        "OUTREACH_QUEUE_URL": "https://sqs.example/q",
        "MENTIONS_QUEUE_URL": "https://sqs.example/m",
        "STATE_TABLE": "state",
        "CRM_URL": "sqlite:///" + str(TESTS / "nowhere.db"),
        "SOCIALCARE_HASH_KEY": "k" * 32,
        "TRIAGE_MODEL": "/no/such/model",
    }
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with pytest.raises(ConfigError, match="/no/such/model"):
        wiring.triage_runtime(env)


# -- features ---------------------------------------------------------------------------------


def test_brand_names_are_masked_in_every_spelling() -> None:
    masker = features.Masker.build(["Signalværk"], ["Kystnet"])
    toks = features.tokens(
        "@signalvaerk_dk Signalværks router, SIGNALVAERK og kystnet er ens", masker
    )
    assert toks.count(features.BRAND) == 3
    assert features.OTHER in toks
    assert not any("signal" in t for t in toks)


def test_any_mode_reads_every_handle_as_the_addressee() -> None:
    toks = features.tokens("@ParcelPoint where is my parcel", brand_masker(None, "any"))
    assert toks[0] == features.BRAND
    assert features.directed(toks, addressed=False, any_mode=True)


def test_spelling_variants_share_character_ngrams() -> None:
    a, b = (set(features.word_buckets(features.fold(w))[1:]) for w in ("hjælp", "hjaelp"))
    assert a == b
    typo = set(features.word_buckets("forbindelssen")[1:])
    assert len(typo & set(features.word_buckets("forbindelsen")[1:])) >= 10


def test_emoji_are_tokens_of_their_own() -> None:
    toks = features.tokens("Godt gået 👏🏽 🙄", features.Masker.build([]))
    assert "👏" in toks and "🙄" in toks


def test_a_100_kb_post_is_cut_before_any_pattern_reads_it(
    clf: LearnedClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every regular expression sees at most MAX_CHARS (plus masking's padding), so none
    can backtrack over a huge input; the classification still comes back."""
    seen: list[int] = []

    class Watch:
        def __init__(self, pattern: re.Pattern[str]) -> None:
            self.pattern = pattern

        def __getattr__(self, name: str) -> Any:
            method = getattr(self.pattern, name)

            def watched(*args: Any, **kwargs: Any) -> Any:
                seen.extend(len(a) for a in args if isinstance(a, str))
                return method(*args, **kwargs)

            return watched

    for name in ("_URLS", "_HANDLES", "_TOKEN", "_REPEATS"):
        monkeypatch.setattr(features, name, Watch(getattr(features, name)))
    hostile = "@" + "a" * 50_000 + " " + "ha'" * 20_000 + "!?" * 10_000
    assert len(hostile) > 100_000
    verdict = clf.classify(hostile, "da")
    assert seen and max(seen) <= 3 * features.MAX_CHARS
    assert 0.0 <= verdict.score <= 1.0


# -- the served classifier ----------------------------------------------------------------------


def test_a_post_not_about_us_is_never_a_complaint(clf: LearnedClassifier) -> None:
    verdict = clf.classify("Internettet har været nede hele dagen, tredje gang på en uge", "da")
    assert not verdict.complaint
    assert "not about the brand" in verdict.reasons


def test_placement_makes_an_unnamed_complaint_ours(clf: LearnedClassifier) -> None:
    text = "Flyttede for tre uger siden og har stadig ingen forbindelse på den nye adresse."
    verdict = clf.classify(text, "da", addressed=True, stars=1)
    assert verdict.complaint
    assert verdict.reasons[:2] == ["placement: addressed to us", "stars: 1/5"]
    assert verdict.reasons[-1].startswith("model: ")


def test_a_bare_rating_is_not_a_complaint(clf: LearnedClassifier) -> None:
    verdict = clf.classify("⭐", None, addressed=True, stars=1)
    assert not verdict.complaint
    assert "stars: 1/5, not counted without words" in verdict.reasons


def test_the_reasons_name_the_words_that_moved_the_score(clf: LearnedClassifier) -> None:
    verdict = clf.classify("Lynet er nede igen, tredje gang i denne uge", "da", addressed=True)
    words = verdict.reasons[-1].removeprefix("model: ")
    assert re.fullmatch(r"(\S+ [+-]\d\.\d)(, \S+ [+-]\d\.\d)*", words), words


def test_topics_are_multi_label(clf: LearnedClassifier) -> None:
    text = "No internet for three days and support never called back"
    verdict = clf.classify(text, "en", addressed=True)
    assert {"outage", "support"} <= set(verdict.topics), verdict.topics


def test_the_brand_mode_needs_a_brand() -> None:
    with pytest.raises(ValueError):
        LearnedClassifier(Model.load(), None)


def test_a_competitor_only_post_names_another_company() -> None:
    brand = Brand.model_validate(
        {**load_brand().model_dump(), "competitors": ["Fiberby"], "own_accounts": {}}
    )
    verdict = load_classifier(brand).classify("Fiberby er nede igen i hele Aarhus", "da")
    assert not verdict.complaint
    assert "names another company" in verdict.reasons


# -- retraining ------------------------------------------------------------------------------------


def test_make_train_reproduces_the_shipped_model(tmp_path: Path) -> None:
    """`make train` runs this command; its model decides a fixed set as the shipped one
    does, and says so in a JSON summary on the last line of stdout. In a fresh
    interpreter, as `make train` runs it: the command sets one BLAS thread before numpy
    loads, which this test process (numpy loaded long ago) could not."""
    command = "import sys; from socialcare_cli.main import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed command
        [sys.executable, "-c", command, "train", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    out, err = done.stdout, done.stderr
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["rows"] >= 4000 and summary["model_bytes"] <= 5 * 1024 * 1024
    assert len(summary["sha256"]) == 64 and "fold 5/5" in err
    shipped, retrained = load_classifier(load_brand()), load_classifier(load_brand(), tmp_path)
    for item in FIXED_SET:
        a = shipped.classify(item["text"], item["lang"])
        b = retrained.classify(item["text"], item["lang"])
        assert (a.complaint, a.topics) == (b.complaint, b.topics), item["text"]
        assert abs(a.score - b.score) <= 0.01, item["text"]


def test_extra_rows_are_learned(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A company's own labels change the model: a phrase the corpus never saw, labeled
    a complaint many times, becomes one. (A small corpus keeps this quick.)"""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    rows = [
        json.loads(line)
        for path in sorted((Path(__file__).parents[2] / "data" / "triage").glob("*.jsonl"))[:3]
        for line in path.read_text("utf-8").splitlines()
        if line.strip()
    ]
    (corpus / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    extra = tmp_path / "extra.jsonl"
    lines = [
        {"id": f"x{i}", "text": f"@Lynet zorblax {word} igen", "complaint": True, "lang": "da"}
        for i, word in enumerate(["i dag", "nu", "her", "hjemme", "i aften"] * 8)
    ]
    extra.write_text("".join(json.dumps(r) + "\n" for r in lines), "utf-8")
    code = main(["train", "--corpus", str(corpus), "--extra", str(extra), "--out", str(tmp_path)])
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["rows"] == len(rows) + len(lines)
    trained = load_classifier(load_brand(), tmp_path)
    assert trained.classify("@Lynet zorblax i morges", "da").score > 0.5


def test_bad_extra_rows_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    extra = tmp_path / "extra.jsonl"
    extra.write_text('{"id": 1, "text": "nede", "complaint": "yes"}\n', "utf-8")
    assert main(["train", "--extra", str(extra), "--out", str(tmp_path)]) == 2
    assert "boolean complaint" in capsys.readouterr().err


# -- the commands --------------------------------------------------------------------------------


def test_triage_command_uses_the_model_it_is_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --model (and with --model shipped) the learned model answers (its reasons
    say "model: ..."); --model rules gives the cue rules; a bad --model path is an error
    naming it."""
    import io

    line = '{"id": "p1", "text": "Forbindelsen falder ud hver aften", "addressed": true}\n'
    outputs = []
    for extra in ([], ["--model", "shipped"], ["--model", "rules"]):
        monkeypatch.setattr("sys.stdin", io.StringIO(line))
        assert main(["triage", *extra, "-"]) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    default, shipped, rules = (o["reasons"] for o in outputs)
    assert default == shipped and default[-1].startswith("model: ")
    assert not any(r.startswith("model: ") for r in rules)
    assert main(["triage", "--model", str(tmp_path / "none"), "-"]) == 2
    assert str(tmp_path / "none") in capsys.readouterr().err


def test_a_batch_gets_the_verdicts_post_by_post_would() -> None:
    """`socialcare triage` classifies in batches (classify_many, stage by stage, for the
    CPU cache); each verdict must be the one `classify` gives the post alone, hints,
    placement and repeated words included, in brand and in "any" mode."""
    posts: list[tuple[str, str | None, bool, int | None]] = [
        (row["text"], None, False, None) for row in FIXED_SET[:60]
    ]
    posts += [
        ("@lynetbredbaand nede nede nede igen!!!", "da", False, None),
        ("Lynet: the the router router died 😡😡", "en", True, 1),
        ("fint nok", None, True, 4),
        ("⭐⭐", "und", True, 2),
        ("Telia er bedre end Lynets net, http://x.dk #fail", "nb", False, None),
        ("x" * 5000, None, False, None),
    ]
    for clf in (load_classifier(load_brand()), load_classifier(None, mode="any")):
        alone = [clf.classify(t, h, addressed=a, stars=s) for t, h, a, s in posts]
        assert clf.classify_many(posts) == alone
        assert clf.classify_many([]) == []


def _old_word_buckets(token: str) -> tuple[int, ...]:
    """features.word_buckets as written before s40 (one _bucket per gram)."""
    own = (features._bucket("w:" + token),) * features.WORD_WEIGHT
    if token in features.SPECIAL or not token[0].isalnum():
        return own
    category = features.cue_category(token)
    cue = (features._bucket("k:" + category),) * features.WORD_WEIGHT if category else ()
    marked = f"<{token}>"
    grams = {marked[i : i + n] for n in features.NGRAMS for i in range(len(marked) - n + 1)}
    return (*own, *cue, *sorted(features._bucket("c:" + g) for g in grams))


@pytest.mark.parametrize(
    "token",
    ["nede", "forbindelsen", "ok", "a", "café", "naïve", "straße", "ünïcödé", "日本語",
     "xbrandx", "0", "!!!", "😡", "wifi'en", "outage", "\ud800x", "x\ud800", "a\udfffbc"],
)  # fmt: skip
def test_word_buckets_equal_the_old_hashing(token: str) -> None:
    """The seeded CRC-32 and the bytes-cut grams give every bucket the old code gave: the
    shipped model was trained on those."""
    assert features.word_buckets(token) == _old_word_buckets(token)
