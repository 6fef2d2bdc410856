"""Input for the commands that read files: JSON Lines exports (`triage`, `decide`) and
response bodies (`parse`), from a file or standard input ("-").

One place for reading them, so every command words the same failure the same way:
`cannot read FILE: <reason>` for a file, `line N: <problem>; skipped` for a line, the
problem naming the field (`field "stars": ...`), never its value, which may be personal.
A UTF-8 byte-order mark (Excel, Windows) is dropped; a line that is not UTF-8 is read with
its bad bytes replaced, and said on stderr, rather than ending the whole backtest.
"""

from __future__ import annotations

import codecs
import json
import sys
from collections.abc import Iterator
from typing import IO, Any, BinaryIO

from socialcare import safejson
from socialcare.errors import BadInputError

# What a bad line raises: not JSON, pydantic's ValidationError (ValueErrors), or ours.
LINE_ERRORS = (ValueError, BadInputError)


class FieldError(BadInputError):
    """A field of an input line is missing or of the wrong kind."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f'field "{field}": {problem}')
        self.field = field


def cannot_read(path: str, exc: BaseException) -> BadInputError:
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
    return BadInputError(f"cannot read {'standard input' if path == '-' else path}: {reason}")


def loads(text: str) -> Any:
    """Every JSON the commands read is decoded here (ValueError when it is not JSON, nested
    too deeply included; lone surrogates read as U+FFFD)."""
    return safejson.loads(text)


def read_text(path: str) -> str:
    """A whole file ("-": stdin) as text; BadInputError when it cannot be read."""
    try:
        if path == "-":
            return sys.stdin.read()
        with open(path, encoding="utf-8") as file:
            return file.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise cannot_read(path, exc) from exc


def read_object(line: str) -> dict[str, Any]:
    item = loads(line)
    if not isinstance(item, dict):
        raise BadInputError("not a JSON object")
    return item


def post_id(item: dict[str, Any]) -> Any:
    """The post's id, echoed as given: `post_id` (what `socialcare parse` writes) or `id`."""
    given = {k: item[k] for k in ("post_id", "id") if item.get(k) not in (None, "")}
    if not given:
        raise FieldError("id", 'missing (give "id" or "post_id")')
    if len(given) > 1 and len({json.dumps(v, sort_keys=True) for v in given.values()}) > 1:
        raise FieldError("post_id", 'differs from "id"; give one of them')
    return next(iter(given.values()))


def placement(item: dict[str, Any]) -> tuple[bool, int | None]:
    """The optional `addressed` and `stars` of an input line; absent or null is the
    default (lines written before these fields read as before)."""
    addressed = item.get("addressed")
    if addressed is not None and not isinstance(addressed, bool):
        raise FieldError("addressed", "must be true or false")
    stars = item.get("stars")
    if stars is not None and (
        isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 5
    ):
        raise FieldError("stars", "must be a whole number from 1 to 5")
    return bool(addressed), stars


def problem(exc: BaseException) -> str:
    """What is wrong with a line, naming fields, never quoting values."""
    from pydantic import ValidationError

    if isinstance(exc, json.JSONDecodeError):
        return f"not JSON (at character {exc.pos})"
    if isinstance(exc, ValidationError):
        return "; ".join(
            f'field "{".".join(str(p) for p in e["loc"]) or "(the line)"}": '
            + (e["msg"] if e["type"] != "value_error" else "not valid")  # ours may quote
            for e in exc.errors()
        )
    if isinstance(exc, BadInputError | safejson.TooDeep):
        return str(exc)
    return type(exc).__name__


def skipped(err: IO[str], prog: str, number: int, exc: BaseException) -> None:
    print(f"{prog}: line {number}: {problem(exc)}; skipped", file=err)


def open_lines(path: str, err: IO[str], prog: str) -> Iterator[str]:
    """The lines of `path` ("-": stdin). Opening fails at once, not mid-read."""
    if path == "-":
        binary = getattr(sys.stdin, "buffer", None)
        if binary is None:  # stdin replaced by a text stream (tests, embedding)
            return _text_lines(sys.stdin)
        return _decoded(binary, err, prog)
    try:
        stream = open(path, "rb")  # noqa: SIM115 - closed by _decoded when it is done
    except OSError as exc:
        raise cannot_read(path, exc) from exc
    return _decoded(stream, err, prog, close=True)


def _text_lines(stream: IO[str]) -> Iterator[str]:
    for number, line in enumerate(stream, 1):
        yield line.removeprefix("\ufeff") if number == 1 else line


def _decoded(stream: BinaryIO, err: IO[str], prog: str, close: bool = False) -> Iterator[str]:
    try:
        for number, raw in enumerate(stream, 1):
            if number == 1:
                raw = raw.removeprefix(codecs.BOM_UTF8)
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                print(f"{prog}: line {number}: not UTF-8; bad bytes replaced", file=err)
                yield raw.decode("utf-8", "replace")
    finally:
        if close:
            stream.close()
