"""The brand configuration: one TOML file the company edits (brand.toml)."""

from __future__ import annotations

import os
import re
import tomllib
from functools import cached_property
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from socialcare.errors import ConfigError


class Brand(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)
    products: list[str] = Field(default_factory=list)
    competitors: list[str] = Field(default_factory=list)
    default_language: str = "da"
    time_zone: str = "Europe/Copenhagen"  # the send window's hours (outreach/window.py)
    sign_off: str
    sign_off_en: str = ""
    phone: str
    website: str
    privacy_notice_url: str
    help_url: str = ""
    status_url: str = ""
    example_sender: str = ""
    example_reply_to: str = ""
    own_accounts: dict[str, list[str]] = Field(default_factory=dict)

    def is_own_account(self, source: str, author_id: str | None, handle: str | None) -> bool:
        own = {a.lower().lstrip("@") for a in self.own_accounts.get(source, [])}
        return bool(own) and ((handle or "").lower() in own or (author_id or "") in own)

    @cached_property
    def names(self) -> list[str]:
        return [self.name, *self.aliases, *self.products]

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """Whole-word match of any of the brand's names and own handles."""
        handles = [h.split("@")[0] for hs in self.own_accounts.values() for h in hs]
        words = sorted({n.lower() for n in [*self.names, *handles] if n}, key=len, reverse=True)
        alternatives = "|".join(re.escape(w) for w in words)
        return re.compile(rf"(?<![\w]){'@?'}(?:{alternatives})(?![\w])", re.IGNORECASE)

    def mentioned_in(self, text: str) -> bool:
        return bool(self.pattern.search(text))


def load_brand(path: str | os.PathLike[str] | None = None) -> Brand:
    """Load the brand file: `path`, else $SOCIALCARE_BRAND_FILE, else the bundled brand.toml."""
    path = path or os.environ.get("SOCIALCARE_BRAND_FILE")
    try:
        if path:
            raw = Path(path).read_bytes()
        else:
            raw = resources.files("socialcare").joinpath("brand.toml").read_bytes()
        return Brand.model_validate(tomllib.loads(raw.decode()))
    except UnicodeDecodeError as exc:  # a binary file: its bytes are no message
        raise ConfigError(f"brand configuration {path}: not UTF-8 text") from exc
    except (OSError, tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ConfigError(f"brand configuration {path or 'brand.toml'}: {exc}") from exc
