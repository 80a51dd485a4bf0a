"""kombu.utils.uuid and the kombu.utils package exports."""

from __future__ import annotations

import uuid as std_uuid

import kombu.utils
from kombu.utils.uuid import uuid


def test_uuid_is_a_unique_v4_string():
    value = uuid()
    assert isinstance(value, str)
    assert std_uuid.UUID(value).version == 4
    assert len({uuid() for _ in range(100)}) == 100
    assert uuid(lambda: "fixed") == "fixed"


def test_package_exports():
    from kombu.utils import (  # noqa: F401
        EqualityDict,
        cached_property,
        emergency_dump_state,
        fileno,
        fxrange,
        fxrangemax,
        maybe_fileno,
        maybe_list,
        nested,
        register_after_fork,
        reprcall,
        reprkwargs,
        retry_over_time,
        symbol_by_name,
    )

    assert kombu.utils.uuid is uuid  # the function, not the submodule
    assert callable(kombu.utils.uuid)
    for name in kombu.utils.__all__:
        assert getattr(kombu.utils, name) is not None
