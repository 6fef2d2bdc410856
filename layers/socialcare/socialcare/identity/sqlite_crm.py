"""A customer directory in one SQLite file, behind the same Crm port as the HTTP contract.

For the demo and for small companies (`--crm sqlite:///path`, SQLAlchemy-style: three
slashes and a relative path, four for an absolute one). Every lookup goes through an
index: handles, lower-case e-mails, and the name keys of socialcare.identity.blocking
(64-bit hashes) of each distinct name, so a name lookup reads the short posting lists of
the spellings the rule can rate at all (never the whole table, and never the hundreds of
holders of a common name one by one), scores them with the project's rule, and only then
reads the best customers.
The file *is* customer data (names, addresses): it belongs with the CRM, not with
socialcare's own state, and is readable only by whoever runs the functions.

`import_directory` builds or updates one from the JSON shape of the demo's sample CRM
(`{"customers": [Customer], "interactions": {id: [Interaction]}}`); `build` streams
customers from any iterable (cmd_crm_import reads JSON and JSON Lines that way). A new
file is built beside the target and renamed into place, so a reader never sees half of it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from socialcare.errors import BadInputError, ConfigError, CrmError, what_failed
from socialcare.identity.blocking import best, pair_hashes
from socialcare.identity.names import Name, full_tokens
from socialcare.models import Customer, Interaction

# 3: distinct names apart, rowid tables keyed by integers, name keys as 64-bit hashes of
# blocking.name_keys per distinct name, handles beside the customer; 2: sound-key pairs
# and exact tokens as text, per customer.
SCHEMA_VERSION = 3
_SCHEMA = """
CREATE TABLE names (                      -- each distinct name once, however many hold it
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE customers (
    id TEXT NOT NULL UNIQUE,
    name INTEGER NOT NULL,                -- names.id
    email_key TEXT,                       -- trimmed, lower-case: what lookups compare
    email TEXT,                           -- as given, only where it differs from email_key
    language TEXT,
    city TEXT,
    handles TEXT,                         -- JSON list, NULL for none
    do_not_contact INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE handles (                    -- "platform:handle", lower-case, no "@"
    handle TEXT NOT NULL,
    customer INTEGER NOT NULL,            -- customers.rowid
    PRIMARY KEY (handle, customer)
) WITHOUT ROWID;
CREATE TABLE name_keys (                  -- blocking.pair_hashes of each distinct name
    key INTEGER NOT NULL,
    name INTEGER NOT NULL,                -- names.id
    PRIMARY KEY (key, name)
) WITHOUT ROWID;
CREATE TABLE interactions (
    customer INTEGER NOT NULL,
    channel TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL,                     -- UTC, fixed width, so text order is time order
    open INTEGER NOT NULL DEFAULT 0,
    extra TEXT                            -- other fields of a recorded interaction, JSON
);
CREATE INDEX interactions_customer ON interactions (customer, at);
"""
# The lookup indexes apart: a new file gets them after its customers (one sort each, not a
# million inserts at random places in a B-tree that outgrows the page cache).
_LOOKUP_INDEXES = """
CREATE INDEX customers_email ON customers (email_key) WHERE email_key IS NOT NULL;
CREATE INDEX customers_name ON customers (name);   -- holders of a name, in rowid order
"""
_COLUMNS = (
    "c.id, n.name, coalesce(c.email, c.email_key), c.language, c.city, c.do_not_contact, c.handles"
)
_NAMED = "JOIN names n ON n.id = c.name"
_BATCH = 2_000  # customers per round of statements while importing
_CHUNK = 500  # ids per IN (...) list, well under SQLite's variable limit


def _marks(values: list[Any]) -> str:
    return ",".join("?" * len(values))


def _at(value: datetime) -> str:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def path_of(url: str) -> Path:
    """`sqlite:///rel/path.db` -> rel/path.db; `sqlite:////abs/path.db` -> /abs/path.db."""
    if not url.startswith("sqlite:///") or len(url) <= len("sqlite:///"):
        raise ConfigError(f"a SQLite CRM URL looks like sqlite:///path, got {url[:40]!r}")
    return Path(url.removeprefix("sqlite:///"))


def rebuild_command(path: Path) -> str:
    return f"socialcare crm-import CUSTOMERS.json --to sqlite:///{path} --replace"


def _customer(row: tuple[Any, ...]) -> Customer:
    return Customer(
        id=row[0],
        name=row[1],
        email=row[2],
        language=row[3],
        city=row[4],
        do_not_contact=bool(row[5]),
        handles=json.loads(row[6]) if row[6] else [],
    )


def _distinct(rows: Iterable[tuple[int, str]]) -> Iterator[tuple[str, str, int]]:
    """(name, name, id) of each name once (a name comes once per key it shares)."""
    seen: set[int] = set()
    for nid, text in rows:
        if nid not in seen:
            seen.add(nid)
            yield text, text, nid


def _name_hashes(name: str) -> frozenset[int]:
    return pair_hashes(full_tokens(name))


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
            tables = self._db.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]
            if create and version == 0 and tables == 0:  # a new, empty file
                self._db.executescript(_SCHEMA + _LOOKUP_INDEXES)
                self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                version = SCHEMA_VERSION
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot open CRM directory {path}{hint}: {exc}") from exc
        if version == 0:
            raise ConfigError(f"{path} is not a socialcare CRM directory{hint}")
        if version != SCHEMA_VERSION:
            self._db.close()
            raise ConfigError(
                f"{path} is a CRM directory of schema {version}, and this socialcare reads "
                f"schema {SCHEMA_VERSION}: rebuild it from your customers with "
                f"`{rebuild_command(path)}`"
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
            return [_customer(row) for row in cur.execute(sql, tuple(params))]

    def find_by_handle(self, platform: str, handle: str) -> list[Customer]:
        key = f"{platform}:{handle.lstrip('@')}".lower()
        return self._customers(
            f"SELECT {_COLUMNS} FROM handles h JOIN customers c ON c.rowid = h.customer "  # noqa: S608 - constant columns
            f"{_NAMED} WHERE h.handle = ? ORDER BY c.id",
            [key],
        )

    def find_by_email(self, email: str) -> list[Customer]:
        return self._customers(
            f"SELECT {_COLUMNS} FROM customers c {_NAMED} WHERE c.email_key = ? ORDER BY c.id",  # noqa: S608 - constant columns
            [email.strip().lower()],
        )

    def find_by_name(self, name: str, limit: int = 10) -> list[Customer]:
        """The best `limit` customers by the project's score among all who share a name
        key with `name` (blocking.py: that is everyone the rule rates above 0): the
        distinct names are scored, then their holders read, best name first."""
        query = Name.parse(name)
        if not query.usable:
            return []
        hashes = sorted(pair_hashes(query.full))
        names = (
            "SELECT n.id, n.name FROM name_keys k JOIN names n ON n.id = k.name "  # noqa: S608 - placeholders only
            f"WHERE k.key IN ({_marks(hashes)})"
        )
        holders = (
            f"SELECT {_COLUMNS} FROM customers c {_NAMED} "  # noqa: S608 - constant columns
            "WHERE c.name = ? ORDER BY c.rowid LIMIT ?"
        )
        with self._cursor("lookup") as cur:
            want = limit
            while True:
                # best() stops reading the names once the match is known to be ambiguous
                ranked = best(query, _distinct(cur.execute(names, hashes)), want)
                found: list[Customer] = []
                for nid in ranked:
                    found += map(_customer, cur.execute(holders, (nid, limit - len(found))))
                    if len(found) >= limit:
                        break
                # a name nobody holds any more (renamed) gave no one: rank more names
                if len(found) >= limit or len(ranked) < want:
                    break
                want *= 4
        return found

    def interactions(self, customer_id: str, since: datetime) -> list[Interaction]:
        """Closed interactions since `since`; open ones always (as the contract says)."""
        with self._cursor("interactions") as cur:
            rows = cur.execute(
                "SELECT channel, kind, at, open FROM interactions WHERE customer = "
                "(SELECT rowid FROM customers WHERE id = ?) AND (open = 1 OR at >= ?) ORDER BY at",
                (customer_id, _at(since)),
            ).fetchall()
        return [
            Interaction(channel=ch, kind=kind, at=datetime.fromisoformat(at), open=bool(op))
            for ch, kind, at, op in rows
        ]

    def record_interaction(self, customer_id: str, interaction: dict[str, object]) -> None:
        with self._cursor("record") as cur:
            found = cur.execute("SELECT rowid FROM customers WHERE id = ?", (customer_id,))
            row = found.fetchone()
            if not row:
                raise CrmError("CRM directory has no such customer")
            _insert_interactions(cur, row[0], [interaction], datetime.now(UTC))

    # ------------------------------------------------------------------ loading

    def upsert(
        self,
        customers: Iterable[Mapping[str, Any]],
        interactions: Mapping[str, Iterable[Mapping[str, Any]]] | None = None,
        now: datetime | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Insert or replace customers (and add interactions) in one transaction, reading
        `customers` as a stream. A customer that is not a Customer stops the import (and
        rolls it back) with its position, never its content."""
        now = now or datetime.now(UTC)
        count = 0
        with self._cursor("import") as cur:
            next_rowid = cur.execute("SELECT coalesce(max(rowid), 0) + 1 FROM customers")
            rowid = next_rowid.fetchone()[0]
            records = iter(customers)
            while batch := list(islice(records, _BATCH)):
                parsed: dict[str, Customer] = {}
                for raw in batch:
                    count += 1
                    try:
                        customer = Customer.model_validate(raw)
                    except ValidationError as exc:
                        raise BadInputError(
                            f"customer #{count} is not a Customer ({what_failed(exc)})"
                        ) from exc
                    parsed.pop(customer.id, None)  # the last of one id wins, as in a re-import
                    parsed[customer.id] = customer
                rowid = _replace_customers(cur, list(parsed.values()), rowid)
                if progress:
                    progress(count)
            for customer_id, items in (interactions or {}).items():
                row = cur.execute("SELECT rowid FROM customers WHERE id = ?", (customer_id,))
                found = row.fetchone()
                if not found:
                    raise BadInputError("interactions for a customer id that is not imported")
                _insert_interactions(cur, found[0], items, now)
        return count


def _in_chunks(cur: sqlite3.Cursor, sql: str, values: list[Any]) -> Iterator[tuple[Any, ...]]:
    """Rows of `sql` (with one `IN ({})`) for all `values`, a chunk at a time."""
    for start in range(0, len(values), _CHUNK):
        chunk = values[start : start + _CHUNK]
        yield from cur.execute(sql.format(_marks(chunk)), chunk)


def _name_ids(cur: sqlite3.Cursor, texts: set[str]) -> dict[str, int]:
    """The names table's ids for these names, adding the new ones with their keys."""
    ids = dict(_in_chunks(cur, "SELECT name, id FROM names WHERE name IN ({})", list(texts)))
    new = sorted(texts - ids.keys())
    if new:
        first = cur.execute("SELECT coalesce(max(id), 0) + 1 FROM names").fetchone()[0]
        ids.update((text, first + i) for i, text in enumerate(new))
        cur.executemany("INSERT INTO names (id, name) VALUES (?, ?)", [(ids[t], t) for t in new])
        cur.executemany(
            "INSERT OR IGNORE INTO name_keys (key, name) VALUES (?, ?)",
            sorted((k, ids[t]) for t in new for k in _name_hashes(t)),  # fewer pages touched
        )
    return ids


def _replace_customers(cur: sqlite3.Cursor, customers: list[Customer], next_rowid: int) -> int:
    """Write one batch: new customers get fresh rowids, known ones keep theirs (and their
    interactions) and lose their old handles. Returns the next free rowid."""
    old = {
        cid: (rowid, handles)
        for rowid, cid, handles in _in_chunks(
            cur,
            "SELECT rowid, id, handles FROM customers WHERE id IN ({})",
            [c.id for c in customers],
        )
    }
    name_ids = _name_ids(cur, {c.name for c in customers})
    stale_handles, new_rows, old_rows, handles = [], [], [], []
    for c in customers:
        email_key = c.email.strip().lower() if c.email else None
        own = sorted({h.strip().lstrip("@").lower() for h in c.handles if h.strip()})
        fields = (
            name_ids[c.name],
            email_key,
            c.email if c.email and c.email != email_key else None,
            c.language,
            c.city,
            json.dumps(own) if own else None,
            int(c.do_not_contact),
        )
        if c.id in old:
            rowid, old_handles = old[c.id]
            stale_handles += [(h, rowid) for h in json.loads(old_handles or "[]")]
            old_rows.append((*fields, rowid))
        else:
            rowid, next_rowid = next_rowid, next_rowid + 1
            new_rows.append((rowid, c.id, *fields))
        handles += [(h, rowid) for h in own]
    cur.executemany("DELETE FROM handles WHERE handle = ? AND customer = ?", stale_handles)
    cur.executemany(
        "UPDATE customers SET name = ?, email_key = ?, email = ?, language = ?, city = ?, "
        "handles = ?, do_not_contact = ? WHERE rowid = ?",
        old_rows,
    )
    cur.executemany(
        "INSERT INTO customers (rowid, id, name, email_key, email, language, city, handles, "
        "do_not_contact) VALUES (?,?,?,?,?,?,?,?,?)",
        new_rows,
    )
    cur.executemany("INSERT OR IGNORE INTO handles (handle, customer) VALUES (?, ?)", handles)
    return next_rowid


def _insert_interactions(
    cur: sqlite3.Cursor, customer: int, items: Iterable[Mapping[str, Any]], now: datetime
) -> None:
    rows = []
    for raw in items:
        item = dict(raw)
        if "hours_ago" in item:  # the sample CRM's relative times, so the demo never ages
            item["at"] = (now - timedelta(hours=float(item.pop("hours_ago")))).isoformat()
        try:
            parsed = Interaction.model_validate(item)
        except ValidationError as exc:
            raise BadInputError(f"interaction is not an Interaction ({what_failed(exc)})") from exc
        extra = {k: v for k, v in item.items() if k not in {"channel", "kind", "at", "open"}}
        rows.append(
            (
                customer,
                parsed.channel,
                parsed.kind,
                _at(parsed.at),
                int(parsed.open),
                json.dumps(extra, default=str) if extra else None,
            )
        )
    cur.executemany(
        "INSERT INTO interactions (customer, channel, kind, at, open, extra) VALUES (?,?,?,?,?,?)",
        rows,
    )


def build(
    path: str | Path,
    customers: Iterable[Mapping[str, Any]],
    interactions: Mapping[str, Iterable[Mapping[str, Any]]] | None = None,
    *,
    replace: bool = False,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Import customers into the directory at `path`: a new file (or, with `replace`, a
    new file for an existing one) is built beside it and renamed into place when complete;
    an existing directory is updated in one transaction. Returns the customers read."""
    path = Path(path)
    if path.exists() and not replace:
        crm = SqliteCrm(path)
        try:
            return crm.upsert(customers, interactions, now, progress)
        finally:
            crm.close()
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        crm = SqliteCrm(partial, create=True)
        try:
            # A file nobody reads yet: no journal, no fsync per commit; a bigger page cache
            # keeps the random inserts into the name keys in memory.
            crm._db.executescript(
                "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -40000;"
                "DROP INDEX customers_email; DROP INDEX customers_name;"
            )
            count = crm.upsert(customers, interactions, now, progress)
            crm._db.executescript(_LOOKUP_INDEXES)
            crm._db.execute("PRAGMA optimize")
        finally:
            crm.close()
        os.replace(partial, path)
    except BaseException:
        with suppress(OSError):
            partial.unlink()
        raise
    return count


def import_directory(path: str | Path, data: Mapping[str, Any], now: datetime | None = None) -> int:
    """Build (or update) a directory file from the sample CRM's JSON shape."""
    return build(path, data.get("customers", []), data.get("interactions"), now=now)
