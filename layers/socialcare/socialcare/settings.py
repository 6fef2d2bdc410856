"""Typed settings per function, read from the environment and validated at cold start."""

from __future__ import annotations

import os
from typing import ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from socialcare.errors import ConfigError

Mode = Literal["shadow", "review", "live"]
NameMatching = Literal["off", "review", "on"]


class _Settings(BaseModel):
    # Deferred: a function validates only its own class; building the validators of all
    # fifteen at import cost every cold start ~15 ms of CPU and ~0.9 MiB.
    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)
    needs_hash_key: ClassVar[bool] = True

    state_table: str = Field(alias="STATE_TABLE")
    # Where the keyed-hash secret lives (Secrets Manager); SOCIALCARE_HASH_KEY overrides it
    # locally (demo, tests) so the tools run without AWS.
    hash_key_secret: str = Field(default="", alias="HASH_KEY_SECRET")
    hash_key: str = Field(default="", alias="SOCIALCARE_HASH_KEY")
    hash_key_previous: str = Field(default="", alias="SOCIALCARE_HASH_KEY_PREVIOUS")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Self:
        env = dict(os.environ if env is None else env)
        try:
            settings = cls.model_validate(env)
        except ValidationError as exc:
            missing = ", ".join(str(e["loc"][0]) for e in exc.errors())
            raise ConfigError(f"{cls.__name__}: invalid or missing settings: {missing}") from exc
        if cls.needs_hash_key and not (settings.hash_key or settings.hash_key_secret):
            raise ConfigError(f"{cls.__name__}: set HASH_KEY_SECRET or SOCIALCARE_HASH_KEY")
        return settings


class _PlatformSettings(_Settings):
    """What building a platform source needs (socialcare.sources.build_source): the fetch
    function polls with it, ReceivePush reads notified posts back with it."""

    # Platform sources (socialcare.sources). Queries left empty are built from brand.toml;
    # each *_SECRET names a Secrets Manager secret holding the source's credentials (JSON).
    # A source's first run reads back this far; older posts would be decided stale anyway.
    max_post_age_hours: int = Field(default=72, ge=1, alias="MAX_POST_AGE_HOURS")
    x_api_url: str = Field(default="https://api.x.com", alias="X_API_URL")
    x_query: str = Field(default="", alias="X_QUERY")
    x_secret: str = Field(default="", alias="X_SECRET")
    bluesky_service_url: str = Field(default="https://bsky.social", alias="BLUESKY_SERVICE_URL")
    bluesky_query: str = Field(default="", alias="BLUESKY_QUERY")
    bluesky_secret: str = Field(default="", alias="BLUESKY_SECRET")
    mastodon_instances: str = Field(default="", alias="MASTODON_INSTANCES")
    mastodon_tags: str = Field(default="", alias="MASTODON_TAGS")
    mastodon_search_instances: str = Field(default="", alias="MASTODON_SEARCH_INSTANCES")
    mastodon_query: str = Field(default="", alias="MASTODON_QUERY")
    mastodon_secret: str = Field(default="", alias="MASTODON_SECRET")
    trustpilot_api_url: str = Field(
        default="https://api.trustpilot.com", alias="TRUSTPILOT_API_URL"
    )
    trustpilot_business_unit_id: str = Field(default="", alias="TRUSTPILOT_BUSINESS_UNIT_ID")
    trustpilot_secret: str = Field(default="", alias="TRUSTPILOT_SECRET")
    reddit_auth_url: str = Field(default="https://www.reddit.com", alias="REDDIT_AUTH_URL")
    reddit_api_url: str = Field(default="https://oauth.reddit.com", alias="REDDIT_API_URL")
    reddit_query: str = Field(default="", alias="REDDIT_QUERY")
    reddit_subreddits: str = Field(default="", alias="REDDIT_SUBREDDITS")
    reddit_secret: str = Field(default="", alias="REDDIT_SECRET")
    # Facebook and Instagram (sources/facebook.py, instagram.py): one Meta secret, shared
    # with ReceiveWebhook ({"app_secret", "verify_token", "page_access_token"}).
    meta_graph_url: str = Field(default="https://graph.facebook.com/v25.0", alias="META_GRAPH_URL")
    meta_secret: str = Field(default="", alias="META_SECRET")
    facebook_page_id: str = Field(default="", alias="FACEBOOK_PAGE_ID")
    instagram_user_id: str = Field(default="", alias="INSTAGRAM_USER_ID")
    # Threads (sources/threads.py): the Threads app's secret and the account's user token.
    threads_api_url: str = Field(default="https://graph.threads.net/v1.0", alias="THREADS_API_URL")
    threads_secret: str = Field(default="", alias="THREADS_SECRET")
    threads_user_id: str = Field(default="", alias="THREADS_USER_ID")
    threads_keyword_search: bool = Field(default=False, alias="THREADS_SEARCH")
    # Google Business Profile reviews (sources/google.py): the locations polled, by name.
    google_api_url: str = Field(
        default="https://mybusiness.googleapis.com/v4", alias="GOOGLE_API_URL"
    )
    google_token_url: str = Field(
        default="https://oauth2.googleapis.com/token", alias="GOOGLE_TOKEN_URL"
    )
    google_locations: str = Field(default="", alias="GOOGLE_LOCATIONS")
    google_secret: str = Field(default="", alias="GOOGLE_SECRET")


class FetchSettings(_PlatformSettings):
    mentions_queue_url: str = Field(alias="MENTIONS_QUEUE_URL")
    enabled_sources: str = Field(default="replay", alias="ENABLED_SOURCES")
    replay_url: str = Field(default="", alias="REPLAY_URL")
    max_pages_per_run: int = Field(default=20, ge=1, le=1000, alias="MAX_PAGES_PER_RUN")
    http_timeout_s: float = Field(default=10.0, gt=0, alias="HTTP_TIMEOUT_S")
    http_backoff_s: float = Field(default=0.5, ge=0, alias="HTTP_BACKOFF_S")

    @property
    def sources(self) -> list[str]:
        return [s.strip() for s in self.enabled_sources.split(",") if s.strip()]


class PushSettings(_PlatformSettings):
    """ReceiveWebhook's routes for Trustpilot, Threads and Google (sources/push.py)."""

    needs_hash_key: ClassVar[bool] = False  # mentions pass through; nothing is hashed
    state_table: str = Field(default="", alias="STATE_TABLE")
    mentions_queue_url: str = Field(alias="MENTIONS_QUEUE_URL")
    push_sources: str = Field(default="", alias="PUSH_SOURCES")  # routes that are open
    # Google's Pub/Sub push: the OIDC token's audience and the subscription's service
    # account; the keys it is signed with (Google's JWKS), cached per container.
    google_push_audience: str = Field(default="", alias="GOOGLE_PUSH_AUDIENCE")
    google_push_email: str = Field(default="", alias="GOOGLE_PUSH_EMAIL")
    google_jwks_url: str = Field(
        default="https://www.googleapis.com/oauth2/v3/certs", alias="GOOGLE_JWKS_URL"
    )
    http_timeout_s: float = Field(default=3.0, gt=0, alias="HTTP_TIMEOUT_S")
    http_backoff_s: float = Field(default=0.2, ge=0, alias="HTTP_BACKOFF_S")

    @property
    def sources(self) -> list[str]:
        return [s.strip() for s in self.push_sources.split(",") if s.strip()]


class _CrmSettings(_Settings):
    """The CRM: triage, the mailer and MeasureOutcome."""

    crm_url: str = Field(alias="CRM_URL")
    crm_token_secret: str = Field(default="", alias="CRM_TOKEN_SECRET")
    crm_token: str = Field(default="", alias="SOCIALCARE_CRM_TOKEN")
    # The CRM's kind (identity/crm.py: hubspot, zendesk, hubspot+zendesk, ...); empty:
    # chosen by CRM_URL. A composite's help desk has its own URL and secret; locally
    # SOCIALCARE_HELPDESK_TOKEN, else the CRM's token, stands in for the secret.
    crm_kind: str = Field(default="", alias="CRM_KIND")
    crm_options: str = Field(default="", alias="CRM_OPTIONS")  # JSON, per vendor
    help_desk_url: str = Field(default="", alias="HELP_DESK_URL")
    help_desk_token_secret: str = Field(default="", alias="HELP_DESK_TOKEN_SECRET")
    help_desk_token: str = Field(default="", alias="SOCIALCARE_HELPDESK_TOKEN")
    http_timeout_s: float = Field(default=5.0, gt=0, alias="HTTP_TIMEOUT_S")
    http_backoff_s: float = Field(default=0.3, ge=0, alias="HTTP_BACKOFF_S")


class _CustomerSettings(_CrmSettings):
    """What triage and the mailer share: the queue between them, the contact rules."""

    outreach_queue_url: str = Field(alias="OUTREACH_QUEUE_URL")
    max_post_age_hours: int = Field(default=72, ge=1, alias="MAX_POST_AGE_HOURS")
    cooldown_days: int = Field(default=30, ge=1, alias="COOLDOWN_DAYS")
    in_contact_hours: int = Field(default=72, ge=1, alias="IN_CONTACT_HOURS")
    # Careful name matching (identify.py): off by default; "review" sends its matches to
    # the agents' review address, "on" straight to the customer (docs/identity.md).
    name_matching: NameMatching = Field(default="off", alias="NAME_MATCHING")
    # The pilot audience's SSM parameter (operations/pilot.py); empty: no pilot.
    pilot_parameter: str = Field(default="", alias="PILOT_PARAMETER")


class TriageSettings(_CustomerSettings):
    # Mentions wait out a CRM outage here, delayed (pipeline.handle).
    mentions_queue_url: str = Field(alias="MENTIONS_QUEUE_URL")
    # The triage classifier: empty or "shipped", the model in the layer; "rules", the cue
    # rules; else a model directory or file from `socialcare train --out` (docs/triage.md).
    triage_model: str = Field(default="", alias="TRIAGE_MODEL")
    # The incident switch (SSM, JSON); empty means no incident mode (local tools).
    incident_parameter: str = Field(default="", alias="INCIDENT_PARAMETER")
    # The shadow digest's queue (ShadowDigest); empty when the digest is off.
    digest_queue_url: str = Field(default="", alias="DIGEST_QUEUE_URL")


class MailerSettings(_CustomerSettings):
    """The mailer; OUTREACH_QUEUE_URL is its own queue (over-cap requests go back on it)."""

    sender: str = Field(alias="SENDER_ADDRESS")
    reply_to: str = Field(alias="REPLY_TO_ADDRESS")
    review_address: str = Field(default="", alias="REVIEW_ADDRESS")
    # The mode lives in SSM so it can be switched (kill switch) without a redeploy;
    # OUTREACH_MODE is the fallback when no parameter is configured (local runs).
    mode_parameter: str = Field(default="", alias="OUTREACH_MODE_PARAMETER")
    mode: Mode = Field(default="shadow", alias="OUTREACH_MODE")
    configuration_set: str = Field(default="", alias="SES_CONFIGURATION_SET")
    max_emails_per_hour: int = Field(default=50, ge=1, alias="MAX_EMAILS_PER_HOUR")
    unsubscribe_url: str = Field(default="", alias="UNSUBSCRIBE_URL")
    # E-mails go out only inside it, in the brand's time zone (outreach/window.py); local
    # runs without the variable send at any hour.
    send_window: str = Field(default="always", alias="SEND_WINDOW")
    # Review mode's Approve and Reject links (outreach/approval.py): the Review function's
    # URL, the KMS key that seals them, how long they (and the hold) last.
    review_url: str = Field(default="", alias="REVIEW_URL")
    review_key_id: str = Field(default="", alias="REVIEW_KEY_ID")
    review_link_hours: int = Field(default=48, ge=1, le=168, alias="REVIEW_LINK_HOURS")
    # Where a live e-mail's outcome waits a week (operations/outcome.py); empty: not measured.
    outcome_queue_url: str = Field(default="", alias="OUTCOME_QUEUE_URL")


class OptOutSettings(_Settings):
    """Unsubscribe links and SES bounce/complaint events: the state table and the key."""


class IncidentSettings(_Settings):
    """The IncidentSwitch function: turns incident mode on from a complaint-spike alarm."""

    needs_hash_key: ClassVar[bool] = False
    state_table: str = Field(default="", alias="STATE_TABLE")
    incident_parameter: str = Field(alias="INCIDENT_PARAMETER")
    incident_hours: float = Field(default=4.0, gt=0, le=72, alias="INCIDENT_HOURS")
    # AutoIncidentMode=false: the alarms still notify the ops topic, the switch stays off.
    auto: bool = Field(default=True, alias="AUTO_INCIDENT")


class WebhookSettings(_Settings):
    """ReceiveWebhook: Meta's Page and Instagram webhooks onto MentionsQueue."""

    needs_hash_key: ClassVar[bool] = False  # mentions pass through; nothing is hashed
    state_table: str = Field(default="", alias="STATE_TABLE")
    mentions_queue_url: str = Field(alias="MENTIONS_QUEUE_URL")
    meta_secret: str = Field(alias="META_SECRET")
    meta_graph_url: str = Field(default="https://graph.facebook.com/v25.0", alias="META_GRAPH_URL")
    # Platforms whose notifications are read (EnableFacebook/EnableInstagram); the others'
    # are acknowledged and counted as ignored.
    webhook_sources: str = Field(default="", alias="WEBHOOK_SOURCES")
    facebook_page_id: str = Field(default="", alias="FACEBOOK_PAGE_ID")
    instagram_user_id: str = Field(default="", alias="INSTAGRAM_USER_ID")
    # Meta waits for the answer: short timeouts, one quick retry.
    http_timeout_s: float = Field(default=3.0, gt=0, alias="HTTP_TIMEOUT_S")
    http_backoff_s: float = Field(default=0.2, ge=0, alias="HTTP_BACKOFF_S")

    @property
    def sources(self) -> list[str]:
        return [s.strip() for s in self.webhook_sources.split(",") if s.strip()]


class DigestSettings(_Settings):
    """SendDigest: drains DigestQueue into one e-mail to the agents' mailbox."""

    digest_queue_url: str = Field(alias="DIGEST_QUEUE_URL")
    sender: str = Field(alias="SENDER_ADDRESS")
    digest_address: str = Field(min_length=3, alias="DIGEST_ADDRESS")
    mark_wrong_url: str = Field(alias="MARK_WRONG_URL")
    period: Literal["hourly", "daily"] = Field(default="daily", alias="DIGEST_PERIOD")
    # Longer than the function's timeout: a message received is not handed out again
    # while this run still works on it.
    visibility_s: int = Field(default=300, ge=30, le=43_200, alias="DIGEST_VISIBILITY_S")
    # Long polling, so an empty answer means an empty queue (0: short polls, for
    # emulators whose long poll does not survive a shifted clock).
    wait_s: int = Field(default=1, ge=0, le=20, alias="DIGEST_WAIT_S")


class FeedbackSettings(_Settings):
    """MarkWrong: the digest's mark-wrong links (the state table and the key)."""


class ReviewSettings(_Settings):
    """Review: the agents' Approve and Reject links (the state table, the KMS key, the
    queue back to the mailer). It hashes nothing: the sealed request carries the hashes."""

    needs_hash_key: ClassVar[bool] = False
    outreach_queue_url: str = Field(alias="OUTREACH_QUEUE_URL")
    review_key_id: str = Field(min_length=1, alias="REVIEW_KEY_ID")
    cooldown_days: int = Field(default=30, ge=1, alias="COOLDOWN_DAYS")


class OutcomeSettings(_CrmSettings):
    """MeasureOutcome: drains OutcomeQueue daily and asks the CRM; no state, no key."""

    needs_hash_key: ClassVar[bool] = False
    state_table: str = Field(default="", alias="STATE_TABLE")
    outcome_queue_url: str = Field(alias="OUTCOME_QUEUE_URL")
    # Longer than the function's timeout; an entry left (not a week old) comes back then.
    visibility_s: int = Field(default=43_200, ge=1, le=43_200, alias="OUTCOME_VISIBILITY_S")
    wait_s: int = Field(default=1, ge=0, le=20, alias="OUTCOME_WAIT_S")
