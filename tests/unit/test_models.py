import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from socialcare.errors import what_failed
from socialcare.models import MAX_TEXT_CHARS, Decision, Mention, OutreachRequest, Reason


def mention(**fields: object) -> Mention:
    base = {"source": "x", "post_id": "1", "created_at": "2026-11-28T10:00:00Z", "text": "hi"}
    return Mention.model_validate({**base, **fields})


def test_handles_are_lower_case_without_at() -> None:
    assert mention(handle="@MetteJensen").handle == "mettejensen"
    assert mention(handle="").handle is None


def test_huge_text_is_cut_not_rejected() -> None:
    assert len(mention(text="x" * (MAX_TEXT_CHARS * 3)).text) == MAX_TEXT_CHARS


def test_naive_dates_are_utc_and_fetch_ids_differ() -> None:
    a, b = mention(created_at="2026-11-28T10:00:00"), mention()
    assert a.created_at.tzinfo is not None
    assert a.fetch_id != b.fetch_id


def test_missing_required_fields_are_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        Mention.model_validate({"source": "x", "text": "no id, no date"})


def test_outreach_request_cannot_carry_post_text() -> None:
    with pytest.raises(ValidationError):
        OutreachRequest(
            mention_id="m",
            fetch_id="f",
            customer_ref="C-1",
            customer_hash="h",
            email="a@b.example",
            source="x",
            post_created_at=datetime.now(UTC),
            text="the post",  # type: ignore[call-arg]
        )


def test_decision_is_contact_only_for_contact() -> None:
    assert (
        Decision.of(Reason.CONTACT, mention_id="m", fetch_id="f", source="x").decision == "contact"
    )
    assert Decision.of(Reason.STALE, mention_id="m", fetch_id="f", source="x").decision == "skip"


def test_what_failed_names_fields_never_values() -> None:
    secret = "Søren Hansen skriver: nettet er nede"
    with pytest.raises(ValidationError) as caught:
        Mention(source="x", post_id="1", text=None, created_at=secret)  # type: ignore[arg-type]
    said = what_failed(caught.value)
    assert said.startswith("ValidationError in ") and "created_at" in said and "text" in said
    assert "Søren" not in said and secret not in str(what_failed(KeyError(secret)))
    assert what_failed(KeyError("indexedAt")) == "KeyError 'indexedAt'"
    with pytest.raises(json.JSONDecodeError) as bad:
        json.loads('{"text": "' + secret)
    assert what_failed(bad.value).startswith("not JSON") and "Søren" not in what_failed(bad.value)


@pytest.mark.parametrize(
    ("name", "first"),
    [
        ("Søren Hansen", "Søren"),
        ("Hansen, Søren", "Søren"),  # CRM exports in "Last, First"
        ("Dr. Søren Hansen", "Søren"),
        ("SØREN HANSEN", "Søren"),
        ("ANNE-MARIE HOLM", "Anne-Marie"),
        ("D'Angelo Rossi", "D'Angelo"),
        ("Hr. Hansen", ""),  # a title and a family name: greet without a name
        ("Hansen,", ""),
        ("J. Jensen", ""),  # an initial
        ("123 Kundeservice", ""),
        ("", ""),
    ],
)
def test_the_greeting_uses_the_given_name_or_none(name: str, first: str) -> None:
    from socialcare.models import Customer

    assert Customer(id="C-1", name=name).first_name == first


def test_an_unthrottled_request_is_written_as_before() -> None:
    # Mid-deploy, a mailer on the previous version reads what the new triage writes:
    # the model forbids unknown fields, so `throttled` is written only once set.
    from tests.unit.conftest import make_request

    plain = make_request()
    assert "throttled" not in json.loads(plain.model_dump_json())
    again = plain.model_copy(update={"throttled": 2})
    assert OutreachRequest.model_validate_json(again.model_dump_json()).throttled == 2
