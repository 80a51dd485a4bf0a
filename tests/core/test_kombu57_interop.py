"""Messages and values cross between kombu 5.7 and kombu-core unchanged.

During a migration both libraries share queues, so what one writes the
other must read.  kombu 5.7 runs in its own virtualenv (tests/kombu57.py).
"""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from decimal import Decimal
from uuid import UUID

from kombu57 import run57

from kombu.utils import json

VALUES = {
    "datetime": datetime(2024, 5, 17, 12, 30, 1, 5, tzinfo=timezone.utc),
    "date": date(2024, 5, 17),
    "time": time(12, 30, 1),
    "decimal": Decimal("3.14159"),
    "uuid": UUID("12345678-1234-5678-1234-567812345678"),
    "text_bytes": b"plain",
    "binary_bytes": b"\xff\x00\x10",
    "nested": {"list": [1, 2.5, None, True], "s": "x"},
}

MAKE_VALUES = """
from datetime import date, datetime, time, timezone
from decimal import Decimal
from uuid import UUID
VALUES = {
    "datetime": datetime(2024, 5, 17, 12, 30, 1, 5, tzinfo=timezone.utc),
    "date": date(2024, 5, 17),
    "time": time(12, 30, 1),
    "decimal": Decimal("3.14159"),
    "uuid": UUID("12345678-1234-5678-1234-567812345678"),
    "text_bytes": b"plain",
    "binary_bytes": b"\\xff\\x00\\x10",
    "nested": {"list": [1, 2.5, None, True], "s": "x"},
}
"""


def test_json_written_by_kombu57_reads_here_and_back() -> None:
    theirs = run57(MAKE_VALUES + "from kombu.utils import json\nprint(json.dumps(VALUES))")
    assert json.loads(theirs) == VALUES
    ours = json.dumps(VALUES)
    check = MAKE_VALUES + (
        "import sys\nfrom kombu.utils import json\n"
        "print(json.loads(sys.argv[1]) == VALUES, json.dumps(VALUES) == sys.argv[1])")
    assert run57(check, ours).split() == ["True", "True"]  # same value, same bytes
