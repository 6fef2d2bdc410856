"""Build each function's dependencies once per container, from its typed settings.

A cold start pays only for what its function uses, and an import does no network I/O
(docs/bench.md, "Cold starts"):
- `*_runtime()` runs at import: it validates the settings (a misconfiguration fails fast)
  and loads the brand. Each builder imports its own organs, so a function loads only those.
- AWS waits for first use: boto3 is imported with the first client (`Aws`), Powertools'
  parameter providers and the secret reads behind them come with the first call that
  needs them, cached `SECRET_MAX_AGE_S` (a renewed token is read again, never per run).
boto3 honours AWS_ENDPOINT_URL, which is how the demo and tests point it at the emulator.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar, cast

from socialcare.brand import Brand, load_brand
from socialcare.errors import ConfigError
from socialcare.settings import (
    DigestSettings,
    FeedbackSettings,
    FetchSettings,
    IncidentSettings,
    MailerSettings,
    OptOutSettings,
    OutcomeSettings,
    PushSettings,
    ReviewSettings,
    TriageSettings,
    WebhookSettings,
    _CrmSettings,
    _CustomerSettings,
    _Settings,
)

if TYPE_CHECKING:
    import requests
    from aws_lambda_powertools.utilities.parameters import SecretsProvider, SSMProvider

    from socialcare.adapters.dynamodb import DynamoState
    from socialcare.adapters.sqs import SqsQueue
    from socialcare.identity.ports import Crm
    from socialcare.keyring import StackHasher, StackKeys
    from socialcare.models import Decision, OutreachRequest
    from socialcare.operations.digest import DigestDeps
    from socialcare.operations.outcome import OutcomeDeps
    from socialcare.operations.pilot import Pilot
    from socialcare.outreach.approval import ReviewLinks
    from socialcare.outreach.mailer import MailerDeps
    from socialcare.outreach.review import ReviewDeps
    from socialcare.outreach.unsubscribe import UnsubscribeKey
    from socialcare.pipeline import TriageDeps
    from socialcare.sources.ports import Source
    from socialcare.sources.push import PushDeps
    from socialcare.sources.webhooks import WebhookDeps

SECRET_MAX_AGE_S = 300
T = TypeVar("T")


class Aws:
    """One runtime's boto3 clients and secret reads, each made on first use."""

    def __init__(self) -> None:
        self._clients: dict[str, Any] = {}

    def client(self, service: str, config: Any = None) -> Any:
        if service not in self._clients:
            # boto3 costs as much as the rest of a cold start: imported only when needed
            from socialcare.adapters import boto

            self._clients[service] = boto.client(service, config)
        return self._clients[service]

    @cached_property
    def _secrets(self) -> SecretsProvider:
        from aws_lambda_powertools.utilities import parameters

        # This runtime's provider, not Powertools' module-level default: its client binds
        # to the endpoint of this environment (the tests switch emulators).
        return parameters.SecretsProvider(boto3_client=self.client("secretsmanager"))

    @cached_property
    def ssm(self) -> SSMProvider:
        from aws_lambda_powertools.utilities import parameters

        return parameters.SSMProvider(boto3_client=self.client("ssm"))

    def pilot(self, settings: _CustomerSettings) -> Pilot | None:
        from socialcare.operations.pilot import Pilot

        if not settings.pilot_parameter:
            return None
        return Pilot(on_first_use(lambda: self.ssm), settings.pilot_parameter)

    def secret(self, name: str) -> str:
        try:
            return str(self._secrets.get(name, max_age=SECRET_MAX_AGE_S))
        except Exception as exc:
            raise ConfigError(f"cannot read secret {name!r}: {type(exc).__name__}") from exc

    def secret_json(self, name: str) -> dict[str, Any]:
        """A secret holding one JSON object (a source's credentials, the Meta secret)."""
        try:
            value = json.loads(self.secret(name))
        except ValueError as exc:
            raise ConfigError(f"secret {name!r} is not JSON") from exc
        if not isinstance(value, dict):
            raise ConfigError(f"secret {name!r} is not a JSON object")
        return value

    def state(self, settings: _Settings) -> DynamoState:
        from socialcare.adapters.dynamodb import DynamoState

        return DynamoState(self.client("dynamodb"), settings.state_table)

    def queue(self, url: str) -> SqsQueue:
        from socialcare.adapters.sqs import SqsQueue

        return SqsQueue(self.client("sqs"), url)


def derived_secret(key: str, purpose: str) -> str:
    """One stored secret, a separate key per purpose (keyring.py; re-exported for the tools)."""
    from socialcare import keyring  # imports botocore's exceptions: not at cold start

    return keyring.derived_secret(key, purpose)


class _OnFirstUse:
    """Stands in for an object made when first used, which some events never need: the
    classifier (no mention got past the content-free checks), an SES client (nothing to
    send), the incident switch's SSM reads (no complaint matched), the webhook's queue
    (a refused notification)."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make

    @cached_property
    def _made(self) -> Any:
        return self._make()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._made, name)


def on_first_use(make: Callable[[], T]) -> T:
    return cast("T", _OnFirstUse(make))


class Keys:
    """The hash key and, after a rotation, the one before it (keyring.py): read on first
    use, then every five minutes. Locally SOCIALCARE_HASH_KEY (and _PREVIOUS) stand in."""

    def __init__(self, settings: _Settings, aws: Aws) -> None:
        self._settings, self._aws = settings, aws

    @cached_property
    def stack(self) -> StackKeys:
        from socialcare.keyring import StackKeys, read_hash_keys

        settings = self._settings
        if settings.hash_key:
            return StackKeys.fixed(settings.hash_key, settings.hash_key_previous)
        secret = settings.hash_key_secret
        read = lambda: read_hash_keys(self._aws.client("secretsmanager"), secret)  # noqa: E731
        return StackKeys(read, name=f"secret {secret!r}")

    @cached_property
    def hasher(self) -> StackHasher:
        from socialcare.keyring import StackHasher

        return StackHasher(self.stack)

    def unsubscribe(self) -> list[UnsubscribeKey]:
        """Each key's link-signing secret with its fingerprint: links signed before a
        rotation still work for their 90 days."""
        return list(zip(self.stack.derived("unsubscribe"), self.hasher.kids, strict=True))

    def cursor(self) -> str:
        return self.stack.derived("cursor")[0]


def _check_crm(settings: _CrmSettings) -> None:
    """What can be checked of the CRM settings without reading a secret (fail fast)."""
    if not settings.crm_url.startswith(("http://", "https://", "sqlite:")):
        raise ConfigError(
            f"CRM URL must be http(s)://... or sqlite:///path, got {settings.crm_url[:40]!r}"
        )
    if settings.crm_url.startswith("http") and not (
        settings.crm_token or settings.crm_token_secret
    ):
        raise ConfigError("the HTTP CRM needs a bearer token or credential (CRM_TOKEN_SECRET)")


def _crm(settings: _CrmSettings, aws: Aws) -> Crm:
    """The CRM adapter of CRM_KIND (or chosen by URL). Locally SOCIALCARE_CRM_TOKEN (and
    SOCIALCARE_HELPDESK_TOKEN, else the same) stand in for the secrets; in the cloud each
    vendor's credential is its own secret, read through this runtime's cached reads. A
    sqlite:/// directory needs none."""
    from socialcare.identity.crm import CrmConfig, build_crm, parse_options

    local = settings.crm_token
    remote = settings.crm_url.startswith(("http://", "https://"))
    token = local or (
        aws.secret(settings.crm_token_secret) if remote and settings.crm_token_secret else ""
    )
    helpdesk = settings.help_desk_token or (
        ""
        if local or not settings.help_desk_token_secret
        else aws.secret(settings.help_desk_token_secret)
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


# ---------------------------------------------------------------- FetchMentions
class FetchRuntime:
    def __init__(self, settings: FetchSettings, brand: Brand) -> None:
        self.settings, self.brand, self.aws = settings, brand, Aws()
        self.keys = Keys(settings, self.aws)

    @cached_property
    def state(self) -> DynamoState:
        return self.aws.state(self.settings)

    @cached_property
    def queue(self) -> SqsQueue:
        return self.aws.queue(self.settings.mentions_queue_url)

    def source(self, name: str) -> Source:
        """A source for one run; its secret comes through this runtime's cached reads."""
        from socialcare.http import make_session
        from socialcare.sources import build_source, sweep
        from socialcare.sources.replay import ReplaySource

        if name not in self.settings.sources:
            raise ConfigError(f"source {name!r} is not enabled ({self.settings.enabled_sources})")
        # Cursors remember posts by keyed digest (sweep.py); a rotation re-reads a few posts.
        sweep.use_digest_key(self.keys.cursor())
        session = make_session(
            timeout_s=self.settings.http_timeout_s,
            backoff_s=self.settings.http_backoff_s,
            methods=("GET", "HEAD", "POST"),  # platform logins are safe to repeat
        )
        if name == "replay":
            if not self.settings.replay_url:
                raise ConfigError("the replay source needs REPLAY_URL")
            return ReplaySource(session, self.settings.replay_url)
        return build_source(name, self.settings, session, self.aws.secret_json, self.brand)


def fetch_runtime(env: dict[str, str] | None = None) -> FetchRuntime:
    return FetchRuntime(FetchSettings.from_env(env), load_brand())


# ---------------------------------------------------------------- TriageMentions
class TriageRuntime:
    def __init__(self, settings: TriageSettings, brand: Brand) -> None:
        _check_crm(settings)
        model = settings.triage_model
        if model not in ("", "shipped", "rules") and not os.path.exists(model):  # learned.py
            raise ConfigError(f"TRIAGE_MODEL: no model at {model!r}")
        self.settings, self.brand, self.aws = settings, brand, Aws()
        self.keys = Keys(settings, self.aws)

    @cached_property
    def classifier(self) -> Any:
        """The learned model or the cue rules (TRIAGE_MODEL), with the lexicons and the
        language model (a third of `import boto3`): loaded with the first mention that
        passes the content-free checks (own post, repost, stale, seen)."""
        from socialcare.triage.learned import select_classifier

        return select_classifier(self.brand, self.settings.triage_model)

    @cached_property
    def deps(self) -> TriageDeps:
        from socialcare.identity.policy import PolicyConfig
        from socialcare.operations.incident import IncidentSwitch
        from socialcare.pipeline import TriageDeps

        settings = self.settings
        return TriageDeps(
            brand=self.brand,
            classifier=on_first_use(lambda: self.classifier),
            crm=_crm(settings, self.aws),
            state=self.aws.state(settings),
            hasher=self.keys.hasher,
            max_post_age=timedelta(hours=settings.max_post_age_hours),
            policy=PolicyConfig(
                in_contact_hours=settings.in_contact_hours, cooldown_days=settings.cooldown_days
            ),
            name_matching=settings.name_matching,
            incident=IncidentSwitch(
                on_first_use(lambda: self.aws.ssm), settings.incident_parameter
            ),
            pilot=self.aws.pilot(settings),
            digest=self.aws.queue(settings.digest_queue_url) if settings.digest_queue_url else None,
        )

    @cached_property
    def outreach_queue(self) -> SqsQueue:
        return self.aws.queue(self.settings.outreach_queue_url)

    @cached_property
    def mentions_queue(self) -> SqsQueue:
        """Where a mention waits out a CRM outage (pipeline.handle)."""
        return self.aws.queue(self.settings.mentions_queue_url)


def triage_runtime(env: dict[str, str] | None = None, brand: Brand | None = None) -> TriageRuntime:
    return TriageRuntime(TriageSettings.from_env(env), brand or load_brand())


# ---------------------------------------------------------------- SendOutreach
class MailerRuntime:
    # Idempotent on the business key (person, mention), never on the SQS message id; an
    # agent's approval of the review copy is a request of its own (the same key otherwise).
    IDEMPOTENCY_KEY = (
        "approved && [customer_hash, mention_id, 'approved'] || [customer_hash, mention_id]"
    )
    IDEMPOTENCY_S = 7 * 86_400

    def __init__(self, settings: MailerSettings, brand: Brand) -> None:
        _check_crm(settings)
        self.settings, self.brand, self.aws = settings, brand, Aws()
        self.keys = Keys(settings, self.aws)

    @cached_property
    def deps(self) -> MailerDeps:
        from socialcare.outreach.mailer import MailerDeps
        from socialcare.outreach.ses import SES_CLIENT_CONFIG, SesMailer
        from socialcare.outreach.window import SendWindow

        settings = self.settings
        return MailerDeps(
            brand=self.brand,
            mailer=SesMailer(
                on_first_use(lambda: self.aws.client("sesv2", SES_CLIENT_CONFIG)),
                settings.configuration_set,
            ),
            crm=_crm(settings, self.aws),
            state=self.aws.state(settings),
            hasher=self.keys.hasher,
            sender=settings.sender,
            reply_to=settings.reply_to,
            unsubscribe_base=settings.unsubscribe_url,
            unsubscribe_secret=self.keys.stack.derived("unsubscribe")[0],  # the current key signs
            review_address=settings.review_address,
            max_post_age=timedelta(hours=settings.max_post_age_hours),
            cooldown=timedelta(days=settings.cooldown_days),
            max_per_hour=settings.max_emails_per_hour,
            name_matching=settings.name_matching,
            pilot=self.aws.pilot(settings),
            window=SendWindow.parse(settings.send_window, self.brand.time_zone),
            review=_review_links(settings, self.aws),
            in_contact_hours=settings.in_contact_hours,
            outcome=self.aws.queue(settings.outcome_queue_url)
            if settings.outcome_queue_url
            else None,
        )

    @cached_property
    def outreach_queue(self) -> SqsQueue:
        return self.aws.queue(self.settings.outreach_queue_url)

    def mode(self) -> str:
        """The outreach mode, re-read from SSM at most once a minute (the kill switch)."""
        if not self.settings.mode_parameter:
            return self.settings.mode
        value = str(self.aws.ssm.get(self.settings.mode_parameter, max_age=60)).strip()
        if value not in ("shadow", "review", "live"):
            raise ConfigError(f"outreach mode parameter holds {value[:20]!r}")
        return value

    @cached_property
    def deliver(self) -> Callable[..., dict[str, Any] | None]:
        """send_outreach at most once per (person, mention): Powertools idempotency on the
        state table. `deliver(request=..., lambda_context=...)`."""
        from aws_lambda_powertools.utilities.idempotency import (
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
            idempotent_function,
        )

        from socialcare.outreach.mailer import send_outreach

        config = IdempotencyConfig(
            event_key_jmespath=self.IDEMPOTENCY_KEY, expires_after_seconds=self.IDEMPOTENCY_S
        )
        persistence = DynamoDBPersistenceLayer(
            table_name=self.settings.state_table,
            key_attr="pk",
            expiry_attr="expires_at",
            boto3_client=self.aws.client("dynamodb"),
        )

        # Records are keyed `idem#<hash>`: the prefix the mailer's IAM statement allows.
        @idempotent_function(
            data_keyword_argument="request",
            config=config,
            persistence_store=persistence,
            key_prefix="idem",
        )
        def deliver(request: OutreachRequest) -> dict[str, Any] | None:
            decision: Decision | None = send_outreach(request, self.deps, self.mode())
            return decision.model_dump(mode="json") if decision else None

        def with_context(request: OutreachRequest, lambda_context: Any) -> dict[str, Any] | None:
            config.register_lambda_context(lambda_context)  # expiry in flight: the deadline
            result: dict[str, Any] | None = deliver(request=request)
            return result

        return with_context


def mailer_runtime(env: dict[str, str] | None = None, brand: Brand | None = None) -> MailerRuntime:
    return MailerRuntime(MailerSettings.from_env(env), brand or load_brand())


# ---------------------------------------------------------------- Unsubscribe, EmailEvents
class OptOutRuntime:
    def __init__(self, settings: OptOutSettings, brand: Brand) -> None:
        self.settings, self.brand, self.aws = settings, brand, Aws()
        self.keys = Keys(settings, self.aws)

    @cached_property
    def state(self) -> DynamoState:
        return self.aws.state(self.settings)

    def unsubscribe_keys(self) -> list[UnsubscribeKey]:
        return self.keys.unsubscribe()


def optout_runtime(env: dict[str, str] | None = None) -> OptOutRuntime:
    return OptOutRuntime(OptOutSettings.from_env(env), load_brand())


# ---------------------------------------------------------------- IncidentSwitch
class IncidentRuntime:
    def __init__(self, settings: IncidentSettings, brand: Brand) -> None:
        self.settings, self.status_url, self.aws = settings, brand.status_url, Aws()

    @cached_property
    def ssm(self) -> Any:
        return on_first_use(lambda: self.aws.client("ssm"))  # OK notifications read nothing


def incident_runtime(env: dict[str, str] | None = None) -> IncidentRuntime:
    return IncidentRuntime(IncidentSettings.from_env(env), load_brand())


# ---------------------------------------------------------------- ReceiveWebhook
def webhook_runtime(env: dict[str, str] | None = None, brand: Brand | None = None) -> WebhookDeps:
    """ReceiveWebhook's deps: the queue, the Meta secret (cached five minutes, so a renewed
    Page token is picked up without a redeploy) and Graph clients for thin notifications."""
    from socialcare.sources.graph import GraphApi
    from socialcare.sources.webhooks import WebhookDeps

    settings = WebhookSettings.from_env(env)
    brand = brand or load_brand()
    aws = Aws()

    def secret() -> Mapping[str, Any]:
        return aws.secret_json(settings.meta_secret)

    session = _session_on_first_use(
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
        queue=on_first_use(lambda: aws.queue(settings.mentions_queue_url)),
        secret=secret,
        graph=lambda source: GraphApi(session, source, settings.meta_graph_url, secret),
        sources=frozenset(settings.sources),
        own=own,
    )


def _session_on_first_use(**options: Any) -> requests.Session:
    """An HTTP session made (and requests imported, a third of `import boto3`) with the
    first request: a Meta notification that carries its post, or a refused one, needs none."""

    def make() -> requests.Session:
        from socialcare.http import make_session

        return make_session(**options)

    return on_first_use(make)


def push_runtime(env: dict[str, str] | None = None, brand: Brand | None = None) -> PushDeps:
    """ReceiveWebhook's Trustpilot, Threads and Google routes: the queue, each source's
    secret (cached five minutes, so a rotated URL secret or token is picked up), its API
    client for reading notified posts back, and Google's signing keys (oidc.KeySet); each
    made on first use."""
    from socialcare.sources import build_reader
    from socialcare.sources.oidc import KeySet
    from socialcare.sources.push import PushDeps

    settings = PushSettings.from_env(env)
    brand = brand or load_brand()
    aws = Aws()
    refs = {
        "trustpilot": settings.trustpilot_secret,
        "threads": settings.threads_secret,
        "google": settings.google_secret,
    }

    def secret(ref: str) -> dict[str, Any]:
        name = refs.get(ref, ref)  # a source's name, or (build_source) its secret's id
        try:
            return aws.secret_json(name)
        except ConfigError as exc:
            raise ConfigError(f"cannot read the {ref} secret: {exc}") from exc

    session = _session_on_first_use(
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
        queue=on_first_use(lambda: aws.queue(settings.mentions_queue_url)),
        sources=frozenset(settings.sources),
        secret=secret,
        reader=lambda name: build_reader(name, settings, session, secret, brand),
        own=own,
        settings=settings,
        keys=KeySet(session, settings.google_jwks_url),
    )


# ---------------------------------------------------------------- SendDigest
class DigestRuntime:
    def __init__(self, settings: DigestSettings, brand: Brand) -> None:
        self.settings, self.brand, self.aws = settings, brand, Aws()
        self.keys = Keys(settings, self.aws)

    @cached_property
    def deps(self) -> DigestDeps:
        """The queue it drains, SES, and the mark-wrong link key (signed by the current key)."""
        from socialcare.adapters.sqs import SqsInbox
        from socialcare.operations.digest import DigestDeps
        from socialcare.outreach.ses import SES_CLIENT_CONFIG, SesMailer

        settings, aws = self.settings, self.aws
        return DigestDeps(
            inbox=SqsInbox(
                aws.client("sqs"), settings.digest_queue_url, settings.visibility_s, settings.wait_s
            ),
            mailer=SesMailer(aws.client("sesv2", SES_CLIENT_CONFIG)),
            brand=self.brand,
            sender=settings.sender,
            to=settings.digest_address,
            mark_wrong_url=settings.mark_wrong_url,
            link_secret=self.keys.stack.derived("digest")[0],
            period=settings.period,
        )


def digest_runtime(env: dict[str, str] | None = None) -> DigestRuntime:
    return DigestRuntime(DigestSettings.from_env(env), load_brand())


# ---------------------------------------------------------------- MarkWrong
class FeedbackRuntime:
    def __init__(self, settings: FeedbackSettings, brand: Brand) -> None:
        self.settings, self.brand, self.aws = settings, brand, Aws()
        self.keys = Keys(settings, self.aws)

    @cached_property
    def state(self) -> DynamoState:
        return self.aws.state(self.settings)

    def link_secrets(self) -> tuple[str, ...]:
        """The current key's, then the previous one's: a link outlives a rotation."""
        return self.keys.stack.derived("digest")


def feedback_runtime(env: dict[str, str] | None = None) -> FeedbackRuntime:
    return FeedbackRuntime(FeedbackSettings.from_env(env), load_brand())


def _review_links(settings: MailerSettings, aws: Aws) -> ReviewLinks | None:
    from socialcare.adapters.kms import KmsSealer
    from socialcare.outreach.approval import ReviewLinks

    if not settings.review_url:
        return None
    if not settings.review_key_id:
        raise ConfigError("REVIEW_URL needs REVIEW_KEY_ID (the key that seals the links)")
    sealer = KmsSealer(settings.review_key_id, lambda: aws.client("kms"))
    return ReviewLinks(settings.review_url, sealer, timedelta(hours=settings.review_link_hours))


# ---------------------------------------------------------------- Review
def review_runtime(env: dict[str, str] | None = None) -> ReviewDeps:
    """The Review function's deps: no hash key, no CRM, no SES; the mailer does the rest.
    The table, the key and the queue are reached on first use."""
    from socialcare.adapters.kms import KmsSealer
    from socialcare.outreach.review import ReviewDeps

    settings, aws = ReviewSettings.from_env(env), Aws()
    return ReviewDeps(
        state=on_first_use(lambda: aws.state(settings)),
        sealer=KmsSealer(settings.review_key_id, lambda: aws.client("kms")),
        queue=on_first_use(lambda: aws.queue(settings.outreach_queue_url)),
        brand=load_brand(),
        cooldown=timedelta(days=settings.cooldown_days),
    )


def outcome_deps(env: dict[str, str] | None = None) -> OutcomeDeps:
    """MeasureOutcome's dependencies: OutcomeQueue, drained by hand, and the CRM; both
    made on first use."""
    from socialcare.adapters.sqs import SqsInbox
    from socialcare.operations.outcome import OutcomeDeps

    settings, aws = OutcomeSettings.from_env(env), Aws()
    _check_crm(settings)
    inbox = on_first_use(
        lambda: SqsInbox(
            aws.client("sqs"), settings.outcome_queue_url, settings.visibility_s, settings.wait_s
        )
    )
    return OutcomeDeps(inbox=inbox, crm=on_first_use(lambda: _crm(settings, aws)))
