"""Is this configuration safe to e-mail customers with? Each check returns blockers (what,
what is wrong, how to fix it) and facts for the summary.

The configuration is what `sam deploy --config-env NAME` would deploy: template.yaml's
defaults under samconfig.toml's overrides, and the brand file. With AWS credentials the
account and the deployed stack are checked too: SES out of the sandbox, the sender
identity verified with DKIM, the secrets filled in, the deployed mode, the pilot list and
the unsubscribe route on the company's domain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import requests

from socialcare.brand import Brand
from socialcare.errors import ConfigError, CrmError
from socialcare.identity.http_crm import HttpCrm
from socialcare.identity.sqlite_crm import SqliteCrm
from socialcare.operations import pilot
from socialcare.outreach.window import SendWindow
from socialcare_cli.deployed import DeployedStack

# Names reserved for examples and tests (RFC 2606, RFC 6761): never a real mailbox or site.
PLACEHOLDER_TLDS = {"example", "invalid", "test", "localhost"}
PLACEHOLDER_HOSTS = {"example.com", "example.net", "example.org", "localhost"}
DEMO_BRAND = "Lynet Bredbånd"  # the fictional brand the repository ships
DEMO_PHONE = "+45 70 00 00 00"
SOURCES = ("X", "Bluesky", "Mastodon", "Trustpilot", "Reddit", "Facebook", "Instagram")
# What each enabled source's secret must hold, as its code reads it (one of each group);
# Mastodon's tokens and Trustpilot's login (for reviewers' e-mails) are optional.
_META = [("app_secret",), ("verify_token",), ("page_access_token", "access_token")]
SECRET_KEYS: dict[str, tuple[str, list[tuple[str, ...]]]] = {
    "X": ("XSourceSecret", [("bearer_token",)]),
    "Bluesky": ("BlueskySourceSecret", [("identifier", "handle"), ("app_password", "password")]),
    "Trustpilot": ("TrustpilotSourceSecret", [("api_key",)]),
    "Reddit": ("RedditSourceSecret", [("client_id",), ("client_secret",)]),
    "Facebook": ("MetaSourceSecret", _META),
    "Instagram": ("MetaSourceSecret", _META),
}


@dataclass(frozen=True)
class Blocker:
    what: str
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"{self.what}: {self.problem}. Fix: {self.fix}"


@dataclass
class Config:
    env: str
    section: str  # where parameters are set, for the fixes: "samconfig.toml [prod...]"
    stack_name: str
    params: dict[str, str]  # the template's defaults under the overrides
    brand: Brand
    brand_file: str


@dataclass
class Report:
    blockers: list[Blocker] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)

    def block(self, what: str, problem: str, fix: str) -> None:
        self.blockers.append(Blocker(what, problem, fix))

    def fact(self, label: str, text: str) -> None:
        self.facts.append((label, text))


def placeholder(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host in PLACEHOLDER_HOSTS or host.rsplit(".", 1)[-1] in PLACEHOLDER_TLDS


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


def host_of(url: str) -> str:
    return (urlparse(url).hostname or "").lower()


def check_brand(cfg: Config, report: Report) -> None:
    brand, where = cfg.brand, cfg.brand_file
    if brand.name == DEMO_BRAND:
        report.block(
            "brand",
            f"{where} is the demo brand {DEMO_BRAND!r}",
            "put in your brand's name, aliases, products, competitors, own accounts per "
            "platform, sign-off and phone (docs/deploy.md, Configure)",
        )
    elif brand.phone == DEMO_PHONE:
        report.block("brand phone", f"{DEMO_PHONE} is the demo's", f"set phone in {where}")
    urls = {
        name: getattr(brand, name)
        for name in ("website", "privacy_notice_url", "help_url", "status_url")
        if getattr(brand, name) and placeholder(host_of(getattr(brand, name)))
    }
    if urls:
        hosts = ", ".join(sorted({host_of(u) for u in urls.values()}))
        report.block(
            "brand URLs",
            f"{', '.join(urls)} point at placeholder domains ({hosts})",
            f"put your own pages in {where}: the e-mails link to them",
        )
    report.fact("brand", f"{brand.name} ({where}, time zone {brand.time_zone})")


def check_addresses(cfg: Config, report: Report) -> None:
    p = cfg.params
    needs_review = "review" in (p["OutreachMode"], p["NameMatching"])
    for name, label in (
        ("SenderAddress", "your customer-service From address"),
        ("ReplyToAddress", "the mailbox replies go to"),
        ("ReviewAddress", "the agents' review mailbox"),
        ("OpsEmail", "the on-call address alarms go to (via the OpsTopic SNS topic)"),
    ):
        value = p[name].strip()
        if not value:
            if name == "OpsEmail" or (name == "ReviewAddress" and needs_review):
                why = "alarms reach nobody" if name == "OpsEmail" else "review mode sends there"
                report.block(name, f"empty: {why}", f"set {name}=<{label}> in {cfg.section}")
        elif "@" not in value or placeholder(domain_of(value)):
            report.block(
                name,
                f"{value} is a placeholder address",
                f"set {name}=<{label}> in {cfg.section}",
            )
    report.fact("sender", f"{p['SenderAddress']}, replies to {p['ReplyToAddress']}")
    report.fact("alarms", f"OpsTopic (SNS) to {p['OpsEmail'] or 'nobody'}")


def check_sender_domain(cfg: Config, report: Report) -> None:
    domain, address = cfg.params["SenderDomain"].lower(), cfg.params["SenderAddress"]
    at = domain_of(address)
    if not domain:
        suggestion = at if at and not placeholder(at) else "<your domain>"
        report.block(
            "SenderDomain",
            "empty: SES would verify one address and sign without your domain's DKIM",
            f"set SenderDomain={suggestion} in {cfg.section}, deploy, then publish the DNS "
            "records the stack outputs (docs/deploy.md, Sender domain)",
        )
    elif placeholder(domain):
        report.block(
            "SenderDomain", f"{domain} is a placeholder", f"set your domain in {cfg.section}"
        )
    elif at != domain and not at.endswith(f".{domain}"):
        report.block(
            "SenderAddress",
            f"{address} is not at SenderDomain {domain}",
            f"use an address at {domain}, or set SenderDomain={at}, in {cfg.section}",
        )
    else:
        mail_from = f"{cfg.params['MailFromSubdomain']}.{domain}"
        report.fact("domain", f"{domain}: Easy DKIM, MAIL FROM {mail_from}")


def check_unsubscribe(cfg: Config, report: Report) -> None:
    url = cfg.params["UnsubscribeBaseUrl"]
    fix = (
        f"route a path on your site to the stack's UnsubscribeUrl output (docs/deploy.md, "
        f"Unsubscribe link) and set UnsubscribeBaseUrl=https://<your site>/afmeld in "
        f"{cfg.section}"
    )
    if not url:
        report.block(
            "UnsubscribeBaseUrl",
            "empty: the opt-out link would point at ...lambda-url.<region>.on.aws, not your domain",
            fix,
        )
    elif placeholder(host_of(url)):
        report.block("UnsubscribeBaseUrl", f"{url} is a placeholder", fix)
    elif not url.startswith("https://"):
        report.block("UnsubscribeBaseUrl", f"{url} is not https (one-click needs it)", fix)
    else:
        report.fact("unsubscribe", url)


def check_sources(cfg: Config, report: Report) -> None:
    enabled = [s.lower() for s in SOURCES if cfg.params[f"Enable{s}"] == "true"]
    if cfg.params["EnableReplay"] == "true":
        report.block(
            "EnableReplay",
            "the replay source reads recorded demo pages",
            f"set EnableReplay=false in {cfg.section}",
        )
    if not enabled:
        report.block(
            "sources",
            "none enabled: the stack would read no platform",
            f"set Enable<Source>=true for at least one in {cfg.section} (docs/sources.md)",
        )
    report.fact("sources", ", ".join(enabled) or "none")


def check_window(cfg: Config, report: Report) -> None:
    text = cfg.params["SendWindow"]
    try:
        SendWindow.parse(text, cfg.brand.time_zone)
    except ConfigError as exc:
        report.block("SendWindow", str(exc), f"set SendWindow in {cfg.section} (or time_zone)")
        return
    report.fact("send window", f"{text} ({cfg.brand.time_zone})")


def check_mode(cfg: Config, report: Report, deployed_mode: str, review_seen: bool) -> None:
    """Live mode only with a pilot or after a review period (agents read e-mails first)."""
    p, stack = cfg.params, cfg.stack_name
    modes = {p["OutreachMode"], deployed_mode} - {""}
    pilot_name = p["PilotCustomers"]
    if "live" in modes and not pilot_name and not review_seen:
        report.block(
            "OutreachMode",
            "live without a pilot or a review period",
            f"start with OutreachMode=shadow in {cfg.section}, then review "
            f"(aws ssm put-parameter --name /{stack}/outreach-mode --value review --overwrite), "
            f"or set PilotCustomers=/{stack}/pilot",
        )
    mode = deployed_mode or p["OutreachMode"]
    report.fact("mode", mode + (f", pilot {pilot_name}" if pilot_name else ", no pilot"))


def check_crm(cfg: Config, report: Report, token: str, token_from: str, token_fix: str) -> None:
    url = cfg.params["CrmUrl"]
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.is_file():
            report.fact("CRM", f"SQLite directory {path}: not on this machine, not checked")
            return
        try:
            SqliteCrm(path).close()  # refuses another schema, naming the rebuild command
        except ConfigError as exc:
            report.block("CrmUrl", str(exc), "rebuild or point CrmUrl at the right file")
            return
        report.fact("CRM", f"SQLite directory {path}")
        return
    if placeholder(host_of(url)):
        report.block(
            "CrmUrl",
            f"{url} is a placeholder",
            f"set CrmUrl=https://<your CRM's socialcare API> in {cfg.section} (docs/crm-api.yaml)",
        )
    if not token:
        report.block(
            "CRM token",
            "none to try the CRM with",
            "export SOCIALCARE_CRM_TOKEN=<the CRM's token>, or run with AWS credentials once "
            "the stack is deployed (its CrmTokenSecret)",
        )
    if placeholder(host_of(url)) or not token:
        return
    try:
        # A lookup that matches nobody: reachable, speaks the contract, takes the token.
        HttpCrm(url, token, timeout_s=5, retries=0).find_by_handle("socialcare", "preflight")
    except CrmError as exc:
        if "HTTP 401" in str(exc) or "HTTP 403" in str(exc):
            report.block("CRM", f"{url} refused the token from {token_from}", token_fix)
        else:
            report.block("CRM", f"{url}: {exc}", "check CrmUrl; the CRM must answer Lambda too")
        return
    report.fact("CRM", f"{url} answers with the token from {token_from}")


def check_config(cfg: Config, report: Report) -> None:
    for check in (
        check_brand,
        check_addresses,
        check_sender_domain,
        check_unsubscribe,
        check_sources,
        check_window,
    ):
        check(cfg, report)


@dataclass
class Aws:
    """The account and the deployed stack, through boto3 in the config's region."""

    session: Any
    stack: DeployedStack | None

    def client(self, service: str) -> Any:
        return self.session.client(service)

    def check_account(self, report: Report) -> None:
        try:
            account = self.client("sesv2").get_account()
        except Exception as exc:
            report.block("SES account", f"not readable ({type(exc).__name__})", "check access")
            return
        region = self.session.region_name
        if not account.get("ProductionAccessEnabled"):
            report.block(
                "SES account",
                f"in the sandbox in {region}: only verified addresses receive mail",
                "request production access (SES console, Account dashboard; or aws sesv2 "
                "put-account-details --production-access-enabled --mail-type TRANSACTIONAL ...)",
            )
        if not account.get("SendingEnabled", True):
            report.block("SES account", f"sending is paused in {region}", "see the SES console")

    def check_identity(self, cfg: Config, report: Report) -> None:
        identity = cfg.params["SenderDomain"] or cfg.params["SenderAddress"]
        outputs = f"aws cloudformation describe-stacks --stack-name {cfg.stack_name}"
        try:
            found = self.client("sesv2").get_email_identity(EmailIdentity=identity)
        except Exception as exc:
            report.block(
                f"SES identity {identity}",
                f"not found ({type(exc).__name__})",
                f"deploy: sam deploy --config-env {cfg.env}",
            )
            return
        if not found.get("VerifiedForSendingStatus"):
            report.block(
                f"SES identity {identity}",
                "not verified",
                f"publish the DKIM records (SenderDomainDkimRecord1-3 in {outputs})",
            )
        if cfg.params["SenderDomain"]:
            dkim = found.get("DkimAttributes", {})
            if not dkim.get("SigningEnabled") or dkim.get("Status") != "SUCCESS":
                report.block(
                    f"DKIM for {identity}",
                    f"status {dkim.get('Status', 'unknown')}",
                    f"publish SenderDomainDkimRecord1-3 ({outputs}); SES checks within 72 hours",
                )
            status = found.get("MailFromAttributes", {}).get("MailFromDomainStatus", "unknown")
            if status != "SUCCESS":
                report.block(
                    f"MAIL FROM {cfg.params['MailFromSubdomain']}.{identity}",
                    f"status {status}",
                    f"publish SenderDomainMailFromMxRecord and ...SpfRecord ({outputs})",
                )

    def secret(self, logical_id: str) -> tuple[str, str]:
        assert self.stack is not None
        arn = self.stack.resource(logical_id)
        value = self.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
        return arn, str(value)

    def check_source_secrets(self, cfg: Config, report: Report) -> None:
        import json

        checked = set()
        for source, (logical, groups) in SECRET_KEYS.items():
            if cfg.params[f"Enable{source}"] != "true" or logical in checked:
                continue
            checked.add(logical)
            arn, value = self.secret(logical)
            try:
                data = json.loads(value)
            except ValueError:
                data = {}
            held = data if isinstance(data, dict) else {}
            empty = [" or ".join(g) for g in groups if not any(held.get(k) for k in g)]
            if empty:
                report.block(
                    logical,
                    f"{', '.join(empty)} not filled in ({source} is enabled)",
                    f"aws secretsmanager put-secret-value --secret-id {arn} --secret-string "
                    "'<JSON, docs/sources.md>'",
                )

    def mode(self) -> tuple[str, bool]:
        """The deployed mode, and whether it was ever `review` (a review period)."""
        assert self.stack is not None
        name = self.stack.outputs.get("OutreachModeParameterName", "")
        if not name:
            return "", False
        pages = self.client("ssm").get_paginator("get_parameter_history").paginate(Name=name)
        values = [h["Value"] for page in pages for h in page["Parameters"]]  # oldest first
        return (values[-1] if values else ""), "review" in values

    def check_pilot(self, cfg: Config, report: Report) -> None:
        assert self.stack is not None
        name = self.stack.outputs.get("PilotParameterName", "")
        if not name:
            return
        try:
            value = self.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]
            audience = pilot.parse(value, name)
        except ConfigError as exc:
            report.block("pilot", str(exc), "see docs/deploy.md, Pilot")
            return
        size = len(audience.customers) + len(audience.emails)
        report.fact("pilot", f"{name}: {size} entries" + ("" if size else ", nobody e-mailed"))

    def check_unsubscribe_route(self, cfg: Config, report: Report) -> None:
        assert self.stack is not None
        url, target = cfg.params["UnsubscribeBaseUrl"], self.stack.outputs.get("UnsubscribeUrl")
        if not url.startswith("https://") or placeholder(host_of(url)):
            return  # already a blocker
        try:
            answer = requests.get(url, timeout=10)
            ours = answer.status_code == 400 and escape(cfg.brand.privacy_notice_url) in answer.text
            seen = f"HTTP {answer.status_code}"
        except requests.RequestException as exc:
            ours, seen = False, type(exc).__name__
        if not ours:
            report.block(
                "UnsubscribeBaseUrl",
                f"{url} does not reach the Unsubscribe function ({seen})",
                f"route it to {target} (docs/deploy.md, Unsubscribe link)",
            )


def run(cfg: Config, aws: Aws | None, env_token: str) -> Report:
    report = Report()
    check_config(cfg, report)
    deployed_mode, review_seen, token = "", False, env_token
    token_from, token_fix = "SOCIALCARE_CRM_TOKEN", "export SOCIALCARE_CRM_TOKEN=<the CRM's token>"
    if aws is not None:
        aws.check_account(report)
    if aws is not None and aws.stack is not None:
        aws.check_identity(cfg, report)
        aws.check_source_secrets(cfg, report)
        aws.check_pilot(cfg, report)
        aws.check_unsubscribe_route(cfg, report)
        deployed_mode, review_seen = aws.mode()
        if cfg.params["CrmUrl"].startswith(("http://", "https://")):
            arn, token = aws.secret("CrmTokenSecret")  # what the functions will use
            token_from = "CrmTokenSecret"  # noqa: S105 - the secret's name, not a value
            token_fix = (
                f"aws secretsmanager put-secret-value --secret-id {arn} --secret-string '<token>'"
            )
    check_mode(cfg, report, deployed_mode, review_seen)
    check_crm(cfg, report, token, token_from, token_fix)
    return report
