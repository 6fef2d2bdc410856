"""The local Lambda runner lays a function's environment over os.environ without
touching the C environment (setenv races getenv in other threads), and handlers running
at once share it until the last one leaves."""

from __future__ import annotations

import ctypes
import os
import threading

from socialcare_cli import lambda_local

KEY = "SOCIALCARE_TEST_OVERLAY"
libc = ctypes.CDLL(None)
libc.getenv.restype = ctypes.c_char_p


def c_getenv(key: str) -> bytes | None:
    value: bytes | None = libc.getenv(key.encode())
    return value


def test_the_handler_sees_the_value_and_the_c_environment_never_changes() -> None:
    os.environ.pop(KEY, None)
    with lambda_local.environment({KEY: "inside"}):
        assert os.environ[KEY] == "inside"
        assert os.getenv(KEY) == "inside"
        assert c_getenv(KEY) is None
    assert KEY not in os.environ


def test_an_existing_value_comes_back_after_the_run() -> None:
    os.environ[KEY] = "before"
    try:
        with lambda_local.environment({KEY: "inside"}):
            assert os.environ[KEY] == "inside"
            assert c_getenv(KEY) == b"before"
        assert os.environ[KEY] == "before"
    finally:
        del os.environ[KEY]


def test_overlapping_runs_keep_the_value_until_the_last_one_leaves() -> None:
    os.environ.pop(KEY, None)
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[str | None] = []

    def second() -> None:
        first_in.wait(5)
        with lambda_local.environment({KEY: "shared"}):
            second_in.set()
            first_out.wait(5)
            seen.append(os.environ.get(KEY))

    worker = threading.Thread(target=second)
    worker.start()
    with lambda_local.environment({KEY: "shared"}):
        first_in.set()
        second_in.wait(5)
    first_out.set()
    worker.join(5)
    assert seen == ["shared"]
    assert KEY not in os.environ
