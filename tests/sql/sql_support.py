"""Helpers of the kombu-sql tests: databases under test and a private PostgreSQL."""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

from brokers import require_service, unavailable

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MY_URL = "mysql+pymysql://root@127.0.0.1:3306/test"
ROOT = Path(__file__).resolve().parents[2]

class Db:
    """One database under test: its URL and the transport options naming fresh tables."""

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url
        prefix = f"t{uuid.uuid4().hex[:10]}"
        self.options: dict[str, Any] = {"queue_tablename": f"{prefix}_q",
                                        "message_tablename": f"{prefix}_m",
                                        "polling_interval": 0.1}

    @property
    def broker(self) -> str:
        return f"sqla+{self.url}"

    def engine(self) -> Any:
        from sqlalchemy import create_engine

        return create_engine(self.url)

    def drop(self) -> None:
        if self.name == "sqlite":
            return
        from sqlalchemy import MetaData

        engine = self.engine()
        meta = MetaData()
        names = [self.options["queue_tablename"], self.options["message_tablename"]]
        names += [f"{names[1]}_exchange", f"{names[1]}_binding"]
        meta.reflect(engine, only=lambda n, _: n in names)
        meta.drop_all(engine)
        engine.dispose()


def _require(name: str) -> None:
    if name == "postgresql":
        require_service("postgres", "127.0.0.1", 5432)
    elif name == "mysql":
        require_service("mariadb", "127.0.0.1", 3306)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivatePostgres:
    """scripts/pg_private.sh on a port of its own: a server this test may restart."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.dir = Path(f"/tmp/kombu-pg-{self.port}")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> PrivatePostgres:
        self.proc = subprocess.Popen([str(ROOT / "scripts" / "pg_private.sh"), str(self.port),
                                      str(self.dir)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                import psycopg

                psycopg.connect(host="127.0.0.1", port=self.port, user="postgres",
                                dbname="test", connect_timeout=2).close()
                return self  # accepting queries, not only connections
            except (OSError, psycopg.Error):
                if self.proc.poll() is not None:
                    break
                time.sleep(0.1)
        self.stop()
        unavailable(f"a private PostgreSQL did not start on port {self.port}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/test"
