"""The e-mail copy: language, topic wording, no post text, safe with odd names."""

import pytest

from socialcare.brand import load_brand
from socialcare.outreach.render import clean_name, render

BRAND = load_brand()


def rendered(**kw: object):  # type: ignore[no-untyped-def]
    args: dict = {
        "brand": BRAND,
        "language": "da",
        "first_name": "Søren",
        "source": "x",
        "post_url": "https://x.com/s/status/1",
        "topics": ["outage"],
        "unsubscribe_url": "https://lynet.example/u?token=t",
    }
    return render(**{**args, **kw})


def test_danish_and_english() -> None:
    da, en = rendered(), rendered(language="en", first_name="Oliver", topics=["billing"])
    assert da.text.startswith("Hej Søren,") and "nede" in da.text and da.language == "da"
    assert en.text.startswith("Hi Oliver,") and "bill" in en.text and en.language == "en"
    assert "Kan vi hjælpe?" in da.subject and "Can we help?" in en.subject


@pytest.mark.parametrize("topic", ["outage", "speed", "billing", "equipment", "support", "tv"])
def test_wording_varies_by_topic(topic: str) -> None:
    others = {rendered(topics=[t]).text for t in ("outage", "speed", "billing") if t != topic}
    assert rendered(topics=[topic]).text not in others


def test_every_email_has_the_privacy_notice_opt_out_and_no_priority() -> None:
    for lang in ("da", "en"):
        r = rendered(language=lang)
        for part in (r.text, r.html):
            assert BRAND.privacy_notice_url in part
            assert "https://lynet.example/u?token=t" in part
            assert BRAND.phone in part
        assert "None" not in r.text + r.html + r.subject


def test_unknown_language_falls_back_to_brand_default() -> None:
    assert rendered(language="fr").language == BRAND.default_language
    assert rendered(language=None).language == BRAND.default_language  # type: ignore[arg-type]


def test_empty_name_greets_without_none() -> None:
    assert rendered(first_name="").text.startswith("Hej,\n")
    assert rendered(first_name=None).text.startswith("Hej,\n")


def test_html_is_escaped_and_names_are_cleaned() -> None:
    r = rendered(first_name="<script>alert(1)</script>")
    assert "<script>" not in r.html and "&lt;script&gt;" in r.html
    assert clean_name("Eve\r\nBcc: x@evil.example") == "Eve Bcc: x@evil.example"
    assert clean_name("\u202eevil\u202c") == "evil"
    assert len(clean_name("A" * 500)) == 40


def test_only_https_post_links_are_used() -> None:
    assert "javascript" not in rendered(post_url="javascript:alert(1)").html


@pytest.mark.parametrize("source", ["trustpilot", "google"])
def test_a_review_is_called_a_review(source: str) -> None:
    da, en = rendered(source=source), rendered(source=source, language="en")
    for part in (da.text, da.html):
        assert "din offentlige anmeldelse" in part and "dit offentlige opslag" not in part
    for part in (en.text, en.html):
        assert "your public review" in part and "your public post" not in part


def test_a_post_is_called_a_post() -> None:
    da, en = rendered(source="facebook"), rendered(source="facebook", language="en")
    assert "dit offentlige opslag på Facebook" in da.text and "anmeldelse " not in da.text
    assert "your public post on Facebook" in en.text and "review on" not in en.text
