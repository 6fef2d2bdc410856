"""Build each function's dependencies once per container, from its typed settings.

Handlers call these at import time (cold start), so a misconfiguration fails fast.
boto3 honours AWS_ENDPOINT_URL, which is how the demo and tests point it at the emulator.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import boto3
from aws_lambda_powertools.utilities import parameters

from socialcare.adapters.dynamodb import DynamoState
from socialcare.adapters.kms import KmsSealer
from socialcare.adapters.sqs import SqsInbox, SqsQueue
from socialcare.brand import Brand, load_brand
from socialcare.errors import ConfigError
from socialcare.http import make_session
from socialcare.identity.crm import CrmConfig, build_crm, parse_options
from socialcare.identity.policy import PolicyConfig
from socialcare.identity.ports import Crm
from socialcare.keyring import StackHasher, StackKeys, read_hash_keys
from socialcare.keyring import derived_secret as derived_secret  # re-exported for the tools
from socialcare.operations.digest import DigestDeps
from socialcare.operations.incident import IncidentSwitch
from socialcare.operations.outcome import OutcomeDeps
from socialcare.operations.pilot import Pilot
from socialcare.outreach.approval import ReviewLinks
from socialcare.outreach.mailer import MailerDeps
from socialcare.outreach.review import ReviewDeps
from socialcare.outreach.ses import SES_CLIENT_CONFIG, SesMailer
from socialcare.outreach.unsubscribe import UnsubscribeKey
from socialcare.outreach.window import SendWindow
from socialcare.pipeline import TriageDeps
from socialcare.settings import (
    DigestSettings,
    FeedbackSettings,
    FetchSettings,
    MailerSettings,
    OptOutSettings,
    OutcomeSettings,
    PushSettings,
    ReviewSettings,
    TriageSettings,
    WebhookSettings,
    _CrmSettings,
    _Settings,
)
from socialcare.sources import build_reader, build_source, sweep
from socialcare.sources.graph import GraphApi
from socialcare.sources.ports import Source
from socialcare.sources.push import PushDeps
from socialcare.sources.replay import ReplaySource
from socialcare.sources.webhooks import WebhookDeps
from socialcare.triage.learned import select_classifier


def _secret(name: str) -> str:
    try:
        # A provider per call site's container: its client binds to this environment's
        # endpoint (Powertools' module-level default provider would outlive it).
        provider = parameters.SecretsProvider(boto3_client=boto3.client("secretsmanager"))
        return str(provider.get(name, max_age=300))
    except Exception as exc:
        raise ConfigError(f"cannot read secret {name!r}: {type(exc).__name__}") from exc


def stack_keys(settings: _Settings) -> StackKeys:
    """The hash key and the one before the last rotation (keyring.py); locally
    SOCIALCARE_HASH_KEY (and _PREVIOUS) stand in for the secret."""
    if settings.hash_key:
        return StackKeys.fixed(settings.hash_key, settings.hash_key_previous)
    client = boto3.client("secretsmanager")
    secret = settings.hash_key_secret
    return StackKeys(lambda: read_hash_keys(client, secret), name=f"secret {secret!r}")


def _crm(settings: _CrmSettings) -> Crm:
    """The CRM adapter of CRM_KIND (or chosen by URL). Locally SOCIALCARE_CRM_TOKEN (and
    SOCIALCARE_HELPDESK_TOKEN, else the same) stand in for the secrets; in the cloud each
    vendor's credential is its own secret. A sqlite:/// directory needs none."""
    local = settings.crm_token
    remote = settings.crm_url.startswith(("http://", "https://"))
    token = local or (
        _secret(settings.crm_token_secret) if remote and settings.crm_token_secret else ""
    )
    helpdesk = settings.help_desk_token or (
        ""
        if local or not settings.help_desk_token_secret
        else _secret(settings.help_desk_token_secret)
    )
    return build_crm(
        CrmConfig(
            url=settings.crm_url,
            kind=settings.crm_kind,
            token=token,
            help_desk_url=settings.help_desk_url,
            help_desk_token=helpdesk,
            options=parse_options(settings.crm_options),
            timeout_s=settings.http_timeout_s,
            backoff_s=settings.http_backoff_s,
        )
    )


def _secret_json(name: str) -> dict[str, Any]:
    """A platform source's secret: one JSON object per source (docs/sources.md)."""
    try:
        value = json.loads(_secret(name))
    except ValueError as exc:
        raise ConfigError(f"secret {name!r} is not JSON") from exc
    if not isinstance(value, dict):
        raise ConfigError(f"secret {name!r} is not a JSON object")
    return value


@dataclass
class FetchDeps:
    settings: FetchSettings
    state: DynamoState
    queue: SqsQueue

    def source(self, name: str) -> Source:
        if name not in self.settings.sources:
            raise ConfigError(f"source {name!r} is not enabled ({self.settings.enabled_sources})")
        session = make_session(
            timeout_s=self.settings.http_timeout_s,
            backoff_s=self.settings.http_backoff_s,
            methods=("GET", "HEAD", "POST"),  # platform logins are safe to repeat
        )
        if name == "replay":
            if not self.settings.replay_url:
                raise ConfigError("the replay source needs REPLAY_URL")
            return ReplaySource(session, self.settings.replay_url)
        return build_source(name, self.settings, session, _secret_json)


def fetch_deps(env: dict[str, str] | None = None) -> FetchDeps:
    settings = FetchSettings.from_env(env)
    # Cursors remember posts by keyed digest (sweep.py); a rotation re-reads a few posts.
    sweep.use_digest_key(stack_keys(settings).derived("cursor")[0])
    return FetchDeps(
        settings=settings,
        state=DynamoState(boto3.client("dynamodb"), settings.state_table),
        queue=SqsQueue(boto3.client("sqs"), settings.mentions_queue_url),
    )


@dataclass
class TriageRuntime:
    deps: TriageDeps
    outreach_queue: SqsQueue
    mentions_queue: SqsQueue  # where a mention waits out a CRM outage


def triage_runtime(env: dict[str, str] | None = None, brand: Brand | None = None) -> TriageRuntime:
    settings = TriageSettings.from_env(env)
    brand = brand or load_brand()
    state = DynamoState(boto3.client("dynamodb"), settings.state_table)
    ssm = parameters.SSMProvider(boto3_client=boto3.client("ssm"))
    deps = TriageDeps(
        brand=brand,
        classifier=select_classifier(brand, settings.triage_model),
        crm=_crm(settings),
        state=state,
        hasher=StackHasher(stack_keys(settings)),
        max_post_age=timedelta(hours=settings.max_post_age_hours),
        policy=PolicyConfig(
            in_contact_hours=settings.in_contact_hours, cooldown_days=settings.cooldown_days
        ),
        name_matching=settings.name_matching,
        incident=IncidentSwitch(ssm, settings.incident_parameter),
        pilot=Pilot(ssm, settings.pilot_parameter) if settings.pilot_parameter else None,
        digest=SqsQueue(boto3.client("sqs"), settings.digest_queue_url)
        if settings.digest_queue_url
        else None,
    )
    sqs = boto3.client("sqs")
    return TriageRuntime(
        deps,
        SqsQueue(sqs, settings.outreach_queue_url),
        SqsQueue(sqs, settings.mentions_queue_url),
    )


@dataclass
class MailerRuntime:
    deps: MailerDeps
    settings: MailerSettings
    dynamodb: Any
    ssm: parameters.SSMProvider
    outreach_queue: SqsQueue

    def mode(self) -> str:
        """The outreach mode, re-read from SSM at most once a minute (the kill switch)."""
        if not self.settings.mode_parameter:
            return self.settings.mode
        value = str(self.ssm.get(self.settings.mode_parameter, max_age=60)).strip()
        if value not in ("shadow", "review", "live"):
            raise ConfigError(f"outreach mode parameter holds {value[:20]!r}")
        return value


def mailer_runtime(env: dict[str, str] | None = None, brand: Brand | None = None) -> MailerRuntime:
    settings = MailerSettings.from_env(env)
    keys = stack_keys(settings)
    dynamodb = boto3.client("dynamodb")
    ssm = parameters.SSMProvider(boto3_client=boto3.client("ssm"))
    brand = brand or load_brand()
    deps = MailerDeps(
        brand=brand,
        mailer=SesMailer(
            boto3.client("sesv2", config=SES_CLIENT_CONFIG), settings.configuration_set
        ),
        crm=_crm(settings),
        state=DynamoState(dynamodb, settings.state_table),
        hasher=StackHasher(keys),
        sender=settings.sender,
        reply_to=settings.reply_to,
        unsubscribe_base=settings.unsubscribe_url,
        unsubscribe_secret=keys.derived("unsubscribe")[0],  # links are signed by the current key
        review_address=settings.review_address,
        max_post_age=timedelta(hours=settings.max_post_age_hours),
        cooldown=timedelta(days=settings.cooldown_days),
        max_per_hour=settings.max_emails_per_hour,
        name_matching=settings.name_matching,
        pilot=Pilot(ssm, settings.pilot_parameter) if settings.pilot_parameter else None,
        window=SendWindow.parse(settings.send_window, brand.time_zone),
        review=_review_links(settings),
        in_contact_hours=settings.in_contact_hours,
        outcome=SqsQueue(boto3.client("sqs"), settings.outcome_queue_url)
        if settings.outcome_queue_url
        else None,
    )
    return MailerRuntime(
        deps,
        settings,
        dynamodb,
        ssm,
        SqsQueue(boto3.client("sqs"), settings.outreach_queue_url),
    )


@dataclass
class OptOutRuntime:
    state: DynamoState
    hasher: StackHasher
    keys: StackKeys
    brand: Brand

    def unsubscribe_keys(self) -> list[UnsubscribeKey]:
        """Each key's link-signing secret with its fingerprint: links signed before a
        rotation still work for their 90 days."""
        return list(zip(self.keys.derived("unsubscribe"), self.hasher.kids, strict=True))


def optout_runtime(env: dict[str, str] | None = None) -> OptOutRuntime:
    settings = OptOutSettings.from_env(env)
    keys = stack_keys(settings)
    return OptOutRuntime(
        state=DynamoState(boto3.client("dynamodb"), settings.state_table),
        hasher=StackHasher(keys),
        keys=keys,
        brand=load_brand(),
    )


def webhook_runtime(env: dict[str, str] | None = None, brand: Brand | None = None) -> WebhookDeps:
    """ReceiveWebhook's deps: the queue, the Meta secret (cached five minutes, so a renewed
    Page token is picked up without a redeploy) and Graph clients for thin notifications."""
    settings = WebhookSettings.from_env(env)
    brand = brand or load_brand()
    provider = parameters.SecretsProvider(boto3_client=boto3.client("secretsmanager"))

    def secret() -> dict[str, Any]:
        try:
            value = provider.get(settings.meta_secret, max_age=300, transform="json")
        except Exception as exc:
            raise ConfigError(f"cannot read the Meta secret: {type(exc).__name__}") from exc
        if not isinstance(value, dict):
            raise ConfigError("the Meta secret is not a JSON object")
        return value

    session = make_session(
        timeout_s=settings.http_timeout_s, retries=1, backoff_s=settings.http_backoff_s
    )
    ids = {"facebook": settings.facebook_page_id, "instagram": settings.instagram_user_id}
    own = {
        name: frozenset(
            {a.lower().lstrip("@") for a in brand.own_accounts.get(name, [])}
            | ({ids[name].strip()} if ids[name].strip() else set())
        )
        for name in ids
    }
    return WebhookDeps(
        queue=SqsQueue(boto3.client("sqs"), settings.mentions_queue_url),
        secret=secret,
        graph=lambda source: GraphApi(session, source, settings.meta_graph_url, secret),
        sources=frozenset(settings.sources),
        own=own,
    )


def push_runtime(env: dict[str, str] | None = None, brand: Brand | None = None) -> PushDeps:
    """ReceiveWebhook's Trustpilot, Threads and Google routes: the queue, each source's
    secret (cached five minutes, so a rotated URL secret or token is picked up), its API
    client for reading notified posts back, and Google's signing keys (oidc.KeySet)."""
    from socialcare.sources.oidc import KeySet

    settings = PushSettings.from_env(env)
    brand = brand or load_brand()
    provider = parameters.SecretsProvider(boto3_client=boto3.client("secretsmanager"))
    refs = {
        "trustpilot": settings.trustpilot_secret,
        "threads": settings.threads_secret,
        "google": settings.google_secret,
    }

    def secret(ref: str) -> dict[str, Any]:
        name = refs.get(ref, ref)  # a source's name, or (build_source) its secret's id
        try:
            value = provider.get(name, max_age=300, transform="json")
        except Exception as exc:
            raise ConfigError(f"cannot read the {ref} secret: {type(exc).__name__}") from exc
        if not isinstance(value, dict):
            raise ConfigError(f"the {ref} secret is not a JSON object")
        return value

    session = make_session(
        timeout_s=settings.http_timeout_s,
        retries=1,
        backoff_s=settings.http_backoff_s,
        methods=("GET", "POST"),  # logins are safe to repeat
    )
    own = {
        name: frozenset(a.lower().lstrip("@") for a in brand.own_accounts.get(name, []))
        for name in refs
    }
    if settings.threads_user_id.strip():  # a reply to our own thread: placement
        own["threads"] |= {settings.threads_user_id.strip()}
    return PushDeps(
        queue=SqsQueue(boto3.client("sqs"), settings.mentions_queue_url),
        sources=frozenset(settings.sources),
        secret=secret,
        reader=lambda name: build_reader(name, settings, session, secret, brand),
        own=own,
        settings=settings,
        keys=KeySet(session, settings.google_jwks_url),
    )


def digest_deps(env: dict[str, str] | None = None) -> DigestDeps:
    """SendDigest's dependencies: the queue it drains, SES, and the mark-wrong link key."""
    settings = DigestSettings.from_env(env)
    return DigestDeps(
        inbox=SqsInbox(
            boto3.client("sqs"), settings.digest_queue_url, settings.visibility_s, settings.wait_s
        ),
        mailer=SesMailer(boto3.client("sesv2", config=SES_CLIENT_CONFIG)),
        brand=load_brand(),
        sender=settings.sender,
        to=settings.digest_address,
        mark_wrong_url=settings.mark_wrong_url,
        link_secret=stack_keys(settings).derived("digest")[0],  # signed by the current key
        period=settings.period,
    )


@dataclass
class FeedbackRuntime:
    state: DynamoState
    keys: StackKeys
    brand: Brand

    def link_secrets(self) -> tuple[str, ...]:
        """The current key's, then the previous one's: a link outlives a rotation."""
        return self.keys.derived("digest")


def feedback_runtime(env: dict[str, str] | None = None) -> FeedbackRuntime:
    settings = FeedbackSettings.from_env(env)
    keys = stack_keys(settings)
    keys()  # read at cold start: a missing secret fails fast
    return FeedbackRuntime(
        state=DynamoState(boto3.client("dynamodb"), settings.state_table),
        keys=keys,
        brand=load_brand(),
    )


def _review_links(settings: MailerSettings) -> ReviewLinks | None:
    if not settings.review_url:
        return None
    if not settings.review_key_id:
        raise ConfigError("REVIEW_URL needs REVIEW_KEY_ID (the key that seals the links)")
    sealer = KmsSealer(settings.review_key_id, lambda: boto3.client("kms"))
    return ReviewLinks(settings.review_url, sealer, timedelta(hours=settings.review_link_hours))


def review_runtime(env: dict[str, str] | None = None) -> ReviewDeps:
    """The Review function's deps: no hash key, no CRM, no SES; the mailer does the rest."""
    settings = ReviewSettings.from_env(env)
    return ReviewDeps(
        state=DynamoState(boto3.client("dynamodb"), settings.state_table),
        sealer=KmsSealer(settings.review_key_id, lambda: boto3.client("kms")),
        queue=SqsQueue(boto3.client("sqs"), settings.outreach_queue_url),
        brand=load_brand(),
        cooldown=timedelta(days=settings.cooldown_days),
    )


def outcome_deps(env: dict[str, str] | None = None) -> OutcomeDeps:
    """MeasureOutcome's dependencies: OutcomeQueue, drained by hand, and the CRM."""
    settings = OutcomeSettings.from_env(env)
    inbox = SqsInbox(
        boto3.client("sqs"), settings.outcome_queue_url, settings.visibility_s, settings.wait_s
    )
    return OutcomeDeps(inbox=inbox, crm=_crm(settings))
