"""The fuzz rule itself must be able to fail: a raw error, a hang and a blow-up are each caught."""

import time

import numpy as np
import pytest

from interleave.errors import InvalidArgument
from tests.fuzzing import call_bounded


def _raise_library_error():
    msg = "x"
    raise InvalidArgument(msg)


def test_library_errors_pass_and_are_returned():
    kind, error = call_bounded(_raise_library_error)
    assert kind == "error"
    assert isinstance(error, InvalidArgument)
    assert call_bounded(lambda: 3) == ("ok", 3)


def test_raw_error_fails():
    with pytest.raises(pytest.fail.Exception, match="raw ZeroDivisionError"):
        call_bounded(lambda: 1 / 0)


def test_hang_fails():
    with pytest.raises(pytest.fail.Exception, match="hang"):
        call_bounded(time.sleep, 10, max_seconds=0.2)


def test_unbounded_allocation_fails():
    with pytest.raises(pytest.fail.Exception, match="allocated past"):
        call_bounded(np.ones, 10**10, max_extra_bytes=1 << 28)
