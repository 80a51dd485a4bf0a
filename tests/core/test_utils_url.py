"""kombu.utils.url: parsing, building and masking broker URLs."""

from __future__ import annotations

import ssl

import pytest

from kombu.utils.url import (
    _parse_url,
    as_url,
    maybe_sanitize_url,
    parse_url,
    safequote,
    sanitize_url,
    url_to_parts,
    urlparts,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "amqp://user:pass@host:5672/vhost",
            dict(
                transport="amqp",
                hostname="host",
                port=5672,
                userid="user",
                password="pass",
                virtual_host="vhost",
            ),
        ),
        (
            "redis://:pass@host/1",
            dict(
                transport="redis",
                hostname="host",
                port=None,
                userid=None,
                password="pass",
                virtual_host="1",
            ),
        ),
        (
            "sqla+postgresql://scott:tiger@db.example.com:5432/mydb",
            dict(
                transport="sqla+postgresql",
                hostname="db.example.com",
                port=5432,
                userid="scott",
                password="tiger",
                virtual_host="mydb",
            ),
        ),
        (
            "memory://",
            dict(
                transport="memory",
                hostname=None,
                port=None,
                userid=None,
                password=None,
                virtual_host=None,
            ),
        ),
        (
            "filesystem://",
            dict(
                transport="filesystem",
                hostname=None,
                port=None,
                userid=None,
                password=None,
                virtual_host=None,
            ),
        ),
        (
            "amqp://guest:guest@localhost:5672/%2F",
            dict(
                transport="amqp",
                hostname="localhost",
                port=5672,
                userid="guest",
                password="guest",
                virtual_host="/",
            ),
        ),
        (
            "amqp://localhost//",
            dict(
                transport="amqp",
                hostname="localhost",
                port=None,
                userid=None,
                password=None,
                virtual_host="/",
            ),
        ),
        (
            "amqp://u%40x:p%3Aw%2Fd@h/a%20b",
            dict(
                transport="amqp",
                hostname="h",
                port=None,
                userid="u@x",
                password="p:w/d",
                virtual_host="a b",
            ),
        ),
        (
            "redis+socket:///tmp/redis.sock",
            dict(
                transport="redis+socket",
                hostname=None,
                port=None,
                userid=None,
                password=None,
                virtual_host="tmp/redis.sock",
            ),
        ),
        (
            "amqp://[::1]:5672/",
            dict(
                transport="amqp",
                hostname="::1",
                port=5672,
                userid=None,
                password=None,
                virtual_host=None,
            ),
        ),
    ],
)
def test_parse_url(url, expected):
    assert parse_url(url) == expected


def test_parse_url_query_options():
    parsed = parse_url("redis://h:6379/0?socket_timeout=5&health_check_interval=2")
    assert parsed["socket_timeout"] == "5"
    assert parsed["health_check_interval"] == "2"
    assert parsed["transport"] == "redis"


def test_parse_url_ssl_options_are_grouped():
    parsed = parse_url(
        "rediss://h/0?ssl_cert_reqs=required&ssl_check_hostname=false&ssl_ca_certs=/ca.pem"
    )
    assert parsed["ssl"] == {
        "ssl_cert_reqs": ssl.CERT_REQUIRED,
        "ssl_check_hostname": False,
        "ssl_ca_certs": "/ca.pem",
    }
    assert (
        parse_url("rediss://h/0?ssl_cert_reqs=CERT_NONE")["ssl"]["ssl_cert_reqs"] == ssl.CERT_NONE
    )


def test_semicolon_lists_are_not_split():
    parts = url_to_parts("amqp://h1//;amqp://h2//")
    assert parts.hostname == "h1"


def test_bad_port_is_a_value_error():
    with pytest.raises(ValueError):
        parse_url("amqp://host:notaport/")


def test_url_to_parts():
    parts = url_to_parts("amqp://user:pw@host:1234/vh?x=1")
    assert isinstance(parts, urlparts)
    assert parts == ("amqp", "host", 1234, "user", "pw", "vh", {"x": "1"})
    assert parts.scheme == "amqp" and parts.query == {"x": "1"}
    assert _parse_url is url_to_parts


def test_as_url():
    assert as_url("amqp", "host", 5672, "user", "pw", "vh") == "amqp://user:pw@host:5672/vh"
    assert (
        as_url("amqp", "host", 5672, "user", "pw", "vh", sanitize=True)
        == "amqp://user:**@host:5672/vh"
    )
    assert as_url("amqp", "host", password="pw", sanitize=True, mask="XX") == "amqp://:XX@host/"
    assert as_url("memory") == "memory:///"
    assert as_url("amqp", "h", path="/") == "amqp://h//"
    assert as_url("amqp", "h", user="u@x", password="p/w") == "amqp://u%40x:p%2Fw@h/"
    assert as_url("amqp", "::1", 5672) == "amqp://[::1]:5672/"
    assert as_url("redis", "h", path="0", query={"a": "1"}) == "redis://h/0?a=1"


def test_as_url_round_trips_through_parse():
    url = as_url("amqp", "host", 5672, "us er", "p@ss:w/rd", safequote("/"))
    parsed = parse_url(url)
    assert (parsed["userid"], parsed["password"], parsed["virtual_host"]) == (
        "us er",
        "p@ss:w/rd",
        "/",
    )


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("amqp://user:pass@host:5672/vhost", "amqp://user:**@host:5672/vhost"),
        ("redis://:pass@host/1", "redis://:**@host/1"),
        ("sqla+postgresql://scott:tiger@db/mydb", "sqla+postgresql://scott:**@db/mydb"),
        ("amqp://guest:guest@localhost:5672/%2F", "amqp://guest:**@localhost:5672//"),
        ("amqp://guest@localhost//", "amqp://guest@localhost//"),
        ("memory://", "memory:///"),
        ("redis://h/0?password=hunter2&db=1", "redis://h/0?password=**&db=1"),
    ],
)
def test_sanitize_url(url, masked):
    assert sanitize_url(url) == masked
    assert "pass" not in sanitize_url(url).replace("password=", "")


def test_sanitize_url_custom_mask():
    assert sanitize_url("amqp://u:secret@h/", mask="###") == "amqp://u:###@h/"


def test_maybe_sanitize_url():
    assert maybe_sanitize_url("amqp://u:secret@h//") == "amqp://u:**@h//"
    assert maybe_sanitize_url("not a url") == "not a url"
    assert maybe_sanitize_url(None) is None
    assert maybe_sanitize_url(42) == 42
    masked = maybe_sanitize_url("amqp://u:secret@h:badport/")
    assert "secret" not in masked


def test_query_value_spells_literals():
    from kombu.utils.url import query_value

    assert query_value("true") is True and query_value("Off") is False
    assert query_value("3") == 3 and query_value("0.25") == 0.25
    assert query_value("name") == "name"
    assert query_value(7) == 7


def test_ssl_available_says_whether_python_has_ssl():
    import subprocess
    import sys

    from kombu.utils import url

    try:
        import _ssl  # noqa: F401
    except ImportError:
        expected = False
    else:
        expected = True
    assert url.ssl_available is expected
    # A Python without _ssl (simulated the standard way: a None in sys.modules):
    # no ssl constants, and a warning instead of a crash.
    code = ("import sys; sys.modules['_ssl'] = None\n"
            "import logging; logging.basicConfig(level=logging.WARNING)\n"
            "from kombu.utils import url\n"
            "print(url.ssl_available, url.parse_ssl_cert_reqs('required'))\n"
            "print(url.parse_url('rediss://h/0?ssl_cert_reqs=required')['ssl'])\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert proc.stdout.splitlines() == ["False None", "{'ssl_cert_reqs': None}"]
    assert "insecure SSL" in proc.stderr and "kombu.utils.url" in proc.stderr


def test_parse_ssl_cert_reqs_takes_kombus_keyword_and_refuses_unknown_values():
    from kombu.utils.url import parse_ssl_cert_reqs

    assert parse_ssl_cert_reqs(query_value="required") == ssl.CERT_REQUIRED
    assert parse_ssl_cert_reqs(query_value="CERT_OPTIONAL") == ssl.CERT_OPTIONAL
    assert parse_ssl_cert_reqs("none") == ssl.CERT_NONE
    with pytest.raises(ValueError, match="Unknown ssl_cert_reqs 'sometimes'"):
        parse_ssl_cert_reqs("sometimes")
    with pytest.raises(ValueError, match=r"Malformed broker URL.*ssl_cert_reqs"):
        from kombu import Connection

        Connection("amqp://h//?ssl_cert_reqs=sometimes")


def test_a_host_list_is_kept_whole_with_its_ports():
    parts = url_to_parts("zookeeper://u:p@h1:2181,h2:2182,h3/chroot/x")
    assert parts.hostname == "h1:2181,h2:2182,h3"
    assert parts.port is None
    assert (parts.username, parts.password, parts.path) == ("u", "p", "chroot/x")
    assert parse_url("zk://a,b:1/")["hostname"] == "a,b:1"
    assert url_to_parts("redis://h1:6380/0").port == 6380
