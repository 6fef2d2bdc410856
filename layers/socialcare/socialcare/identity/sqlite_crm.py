"""A customer directory in one SQLite file, behind the same Crm port as the HTTP contract.

For the demo and for small companies (`--crm sqlite:///path`, SQLAlchemy-style: three
slashes and a relative path, four for an absolute one). Every lookup goes through an
index: handles, lower-case e-mails, and folded name keys (socialcare.identity.names.search_keys), so
a name lookup reads the short posting lists of namesakes and near spellings, never the
whole table. The file *is* customer data (names, addresses): it belongs with the CRM, not with
socialcare's own state, and is readable only by whoever runs the functions.

`import_directory` builds or updates one from the JSON shape of the demo's sample CRM
(`{"customers": [Customer], "interactions": {id: [Interaction]}}`).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from socialcare.errors import BadInputError, ConfigError, CrmError
from socialcare.identity import names
from socialcare.models import Customer, Interaction

SCHEMA_VERSION = 2  # 2: name keys are sound-key pairs (p:) and exact tokens (t:)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    email TEXT,
    email_key TEXT,                       -- trimmed, lower-case: what lookups compare
    language TEXT,
    city TEXT,
    do_not_contact INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS customers_email ON customers (email_key);
CREATE TABLE IF NOT EXISTS handles (        -- "platform:handle", lower-case, no "@"
    handle TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    PRIMARY KEY (handle, customer_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS handles_customer ON handles (customer_id);
CREATE TABLE IF NOT EXISTS name_keys (      -- socialcare.identity.names.search_keys of the name
    key TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    PRIMARY KEY (key, customer_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS name_keys_customer ON name_keys (customer_id, key);
CREATE TABLE IF NOT EXISTS interactions (
    id INTEGER PRIMARY KEY,
    customer_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL,                     -- UTC, fixed width, so text order is time order
    open INTEGER NOT NULL DEFAULT 0,
    extra TEXT                            -- other fields of a recorded interaction, JSON
);
CREATE INDEX IF NOT EXISTS interactions_customer ON interactions (customer_id, at);
"""
_COLUMNS = "c.id, c.name, c.email, c.language, c.city, c.do_not_contact"


def _marks(values: list[str]) -> str:
    return ",".join("?" * len(values))


def _at(value: datetime) -> str:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def path_of(url: str) -> Path:
    """`sqlite:///rel/path.db` -> rel/path.db; `sqlite:////abs/path.db` -> /abs/path.db."""
    if not url.startswith("sqlite:///") or len(url) <= len("sqlite:///"):
        raise ConfigError(f"a SQLite CRM URL looks like sqlite:///path, got {url[:40]!r}")
    return Path(url.removeprefix("sqlite:///"))


class SqliteCrm:
    def __init__(self, path: str | Path, *, create: bool = False) -> None:
        path = Path(path)
        hint = "" if path.is_absolute() else " (relative; sqlite:////abs/path is absolute)"
        if not create and not path.is_file():
            # Never an empty directory by accident: that would read as "no match" for all.
            raise ConfigError(f"no CRM directory at {path}{hint}; build one with crm-import")
        self.path = path
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(path, timeout=5.0, check_same_thread=False)
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if create and version == 0:  # a new file (or one that is not ours: see below)
                self._db.executescript(_SCHEMA)
                self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                version = SCHEMA_VERSION
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot open CRM directory {path}{hint}: {exc}") from exc
        if version != SCHEMA_VERSION:
            raise ConfigError(
                f"{path} is not a socialcare CRM directory of schema {SCHEMA_VERSION} "
                f"(found {version}); rebuild it with crm-import"
            )

    @classmethod
    def from_url(cls, url: str) -> SqliteCrm:
        return cls(path_of(url))

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _cursor(self, what: str) -> Iterator[sqlite3.Cursor]:
        """One statement or transaction; SQLite failures (locked, read-only, corrupt) are
        CrmErrors, so the message is retried rather than decided on a failed lookup."""
        with self._lock:
            try:
                with self._db:  # commits, or rolls back on error
                    yield self._db.cursor()
            except sqlite3.Error as exc:
                raise CrmError(f"CRM directory {what} failed: {type(exc).__name__}") from exc

    def _customers(self, sql: str, params: Iterable[Any]) -> list[Customer]:
        with self._cursor("lookup") as cur:
            rows = cur.execute(sql, tuple(params)).fetchall()
            if not rows:
                return []
            ids = [row[0] for row in rows]
            handles: dict[str, list[str]] = {}
            for customer_id, handle in cur.execute(
                f"SELECT customer_id, handle FROM handles WHERE customer_id IN ({_marks(ids)}) "  # noqa: S608 - placeholders only
                "ORDER BY handle",
                ids,
            ):
                handles.setdefault(customer_id, []).append(handle)
        return [
            Customer(
                id=row[0],
                name=row[1],
                email=row[2],
                language=row[3],
                city=row[4],
                do_not_contact=bool(row[5]),
                handles=handles.get(row[0], []),
            )
            for row in rows
        ]

    def find_by_handle(self, platform: str, handle: str) -> list[Customer]:
        key = f"{platform}:{handle.lstrip('@')}".lower()
        return self._customers(
            f"SELECT {_COLUMNS} FROM handles h JOIN customers c ON c.id = h.customer_id "  # noqa: S608 - constant columns
            "WHERE h.handle = ? ORDER BY c.id",
            [key],
        )

    def find_by_email(self, email: str) -> list[Customer]:
        return self._customers(
            f"SELECT {_COLUMNS} FROM customers c WHERE c.email_key = ? ORDER BY c.id",  # noqa: S608 - constant columns
            [email.strip().lower()],
        )

    def find_by_name(self, name: str, limit: int = 10) -> list[Customer]:
        """Customers with two names sounding like two of the query's, ranked by how many
        name keys (sound-key pairs, exact tokens) they share with it."""
        keys = sorted(names.search_keys(name))
        pairs = [k for k in keys if k.startswith("p:")]
        if not pairs:
            return []
        return self._customers(
            f"SELECT {_COLUMNS} FROM ("  # noqa: S608 - placeholders only
            "  SELECT k.customer_id, COUNT(*) AS n FROM ("
            f"    SELECT DISTINCT customer_id FROM name_keys WHERE key IN ({_marks(pairs)})"
            "  ) cand JOIN name_keys k ON k.customer_id = cand.customer_id"
            f"  WHERE k.key IN ({_marks(keys)})"
            "  GROUP BY k.customer_id ORDER BY n DESC, k.customer_id LIMIT ?"
            ") hit JOIN customers c ON c.id = hit.customer_id ORDER BY hit.n DESC, c.id",
            [*pairs, *keys, max(1, min(limit, 100))],
        )

    def interactions(self, customer_id: str, since: datetime) -> list[Interaction]:
        """Closed interactions since `since`; open ones always (as the contract says)."""
        with self._cursor("interactions") as cur:
            rows = cur.execute(
                "SELECT channel, kind, at, open FROM interactions "
                "WHERE customer_id = ? AND (open = 1 OR at >= ?) ORDER BY at",
                (customer_id, _at(since)),
            ).fetchall()
        return [
            Interaction(channel=ch, kind=kind, at=datetime.fromisoformat(at), open=bool(op))
            for ch, kind, at, op in rows
        ]

    def record_interaction(self, customer_id: str, interaction: dict[str, object]) -> None:
        with self._cursor("record") as cur:
            if not cur.execute("SELECT 1 FROM customers WHERE id = ?", (customer_id,)).fetchone():
                raise CrmError("CRM directory has no such customer")
            _insert_interactions(cur, customer_id, [interaction], datetime.now(UTC))

    # ------------------------------------------------------------------ loading

    def upsert(
        self,
        customers: Iterable[Mapping[str, Any]],
        interactions: Mapping[str, Iterable[Mapping[str, Any]]] | None = None,
        now: datetime | None = None,
    ) -> int:
        """Insert or replace customers (and add interactions) in one transaction."""
        now = now or datetime.now(UTC)
        count = 0
        with self._cursor("import") as cur:
            for raw in customers:
                try:
                    customer = Customer.model_validate(raw)
                except ValidationError as exc:
                    raise BadInputError(f"customer #{count + 1} is not a Customer") from exc
                _replace_customer(cur, customer)
                count += 1
            for customer_id, items in (interactions or {}).items():
                _insert_interactions(cur, customer_id, items, now)
        return count


def _replace_customer(cur: sqlite3.Cursor, c: Customer) -> None:
    cur.execute("DELETE FROM handles WHERE customer_id = ?", (c.id,))
    cur.execute("DELETE FROM name_keys WHERE customer_id = ?", (c.id,))
    cur.execute(
        "INSERT OR REPLACE INTO customers "
        "(id, name, email, email_key, language, city, do_not_contact) VALUES (?,?,?,?,?,?,?)",
        (
            c.id,
            c.name,
            c.email,
            c.email.strip().lower() if c.email else None,
            c.language,
            c.city,
            int(c.do_not_contact),
        ),
    )
    cur.executemany(
        "INSERT OR IGNORE INTO handles (handle, customer_id) VALUES (?, ?)",
        [(h.strip().lstrip("@").lower(), c.id) for h in c.handles if h.strip()],
    )
    cur.executemany(
        "INSERT OR IGNORE INTO name_keys (key, customer_id) VALUES (?, ?)",
        [(key, c.id) for key in names.search_keys(c.name)],
    )


def _insert_interactions(
    cur: sqlite3.Cursor, customer_id: str, items: Iterable[Mapping[str, Any]], now: datetime
) -> None:
    rows = []
    for raw in items:
        item = dict(raw)
        if "hours_ago" in item:  # the sample CRM's relative times, so the demo never ages
            item["at"] = (now - timedelta(hours=float(item.pop("hours_ago")))).isoformat()
        try:
            parsed = Interaction.model_validate(item)
        except ValidationError as exc:
            raise BadInputError("interaction is not an Interaction") from exc
        extra = {k: v for k, v in item.items() if k not in {"channel", "kind", "at", "open"}}
        rows.append(
            (
                customer_id,
                parsed.channel,
                parsed.kind,
                _at(parsed.at),
                int(parsed.open),
                json.dumps(extra, default=str) if extra else None,
            )
        )
    cur.executemany(
        "INSERT INTO interactions (customer_id, channel, kind, at, open, extra) "
        "VALUES (?,?,?,?,?,?)",
        rows,
    )


def import_directory(path: str | Path, data: Mapping[str, Any], now: datetime | None = None) -> int:
    """Build (or update) a directory file from the sample CRM's JSON shape."""
    crm = SqliteCrm(path, create=True)
    try:
        return crm.upsert(data.get("customers", []), data.get("interactions"), now)
    finally:
        crm.close()
