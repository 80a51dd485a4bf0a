"""A client for RabbitMQ's management HTTP API, configured from a Connection."""

from __future__ import annotations

from typing import Any

__all__ = ("get_manager",)


def _client_class() -> Any:
    try:
        import pyrabbit  # type: ignore[import-not-found]
    except ImportError:
        try:
            import pyrabbit2 as pyrabbit  # type: ignore[import-not-found,no-redef]
        except ImportError:
            raise ImportError(
                "kombu.utils.amq_manager needs a RabbitMQ management API client: "
                "pip install pyrabbit2 (or pyrabbit)") from None
    return pyrabbit.Client


def get_manager(client: Any, hostname: str | None = None, port: int | None = None,
                userid: str | None = None, password: str | None = None) -> Any:
    """A ``pyrabbit`` management client for the broker ``client`` connects to.

    Each setting comes from the argument, else the ``manager_<name>``
    transport option (``manager_hostname``, ``manager_port``,
    ``manager_userid``, ``manager_password``), else the connection's own
    value, else the default: ``localhost``, port 15672, ``guest``/``guest``.
    """
    option = client.transport_options.get

    def pick(name: str, given: Any, default: Any) -> Any:
        if given is not None:
            return given
        return option(f"manager_{name}") or getattr(client, name, None) or default

    host = pick("hostname", hostname, "localhost")
    port = port if port is not None else option("manager_port", 15672)
    return _client_class()(f"{host}:{port}", pick("userid", userid, "guest"),
                           pick("password", password, "guest"))
