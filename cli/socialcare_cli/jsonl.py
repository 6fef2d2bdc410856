"""JSON Lines input for the commands that read exports (`triage`, `decide`): a file or
standard input ("-"), as exported by the tools companies use. A UTF-8 byte-order mark
(Excel, Windows) is dropped; a line that is not UTF-8 is read with its bad bytes
replaced, and said on stderr, rather than ending the whole backtest."""

from __future__ import annotations

import codecs
import sys
from collections.abc import Iterator
from typing import IO, BinaryIO


def open_lines(path: str, err: IO[str], prog: str) -> Iterator[str]:
    """The lines of `path` ("-": stdin). Opening fails at once (OSError), not mid-read."""
    if path == "-":
        binary = getattr(sys.stdin, "buffer", None)
        if binary is None:  # stdin replaced by a text stream (tests, embedding)
            return _text_lines(sys.stdin)
        return _decoded(binary, err, prog)
    return _decoded(open(path, "rb"), err, prog, close=True)


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
