"""kombu-sql: the kombu-core plugin for databases (SQLAlchemy 2.x).

This module only answers the kernel's hooks; it imports neither SQLAlchemy
nor a database driver.  :mod:`kombu_sql.transport` (which also answers
``kombu.transport.sqlalchemy``) imports SQLAlchemy when first used.
"""

from __future__ import annotations

from collections.abc import Mapping

from kombu.plugins import hookimpl

__all__ = ("KOMBU_PLUGIN_API", "__version__", "kombu_transport_modules", "kombu_transports")

__version__ = "0.1.0"

#: The kombu-core kernel API this plugin was built against.
KOMBU_PLUGIN_API = "1.0"

_MODULE = "kombu_sql.transport"


@hookimpl
def kombu_transports() -> Mapping[str, str]:
    """``sqla+<SQLAlchemy URL>`` and ``sqlalchemy+<SQLAlchemy URL>``, as in kombu."""
    return {"sqla": f"{_MODULE}:Transport", "sqlalchemy": f"{_MODULE}:Transport"}


@hookimpl
def kombu_transport_modules() -> Mapping[str, str]:
    """kombu's module path for the SQLAlchemy transport."""
    return {"kombu.transport.sqlalchemy": _MODULE}
