"""The connection URL forms, queue-name mangling and client settings of kombu-azure.

URL forms (kombu's, plus a connection string)::

    azurestoragequeues://<ACCESS_KEY>@<ACCOUNT_URL>
    azurestoragequeues://<SAS_TOKEN>@<ACCOUNT_URL>
    azurestoragequeues://DefaultAzureCredential@<ACCOUNT_URL>
    azurestoragequeues://ManagedIdentityCredential@<ACCOUNT_URL>
    azurestoragequeues://<CONNECTION_STRING>    (each ``;`` written ``%3B``)

A ``;`` in a URL separates failover URLs (as in kombu), so a connection
string in the URL has its ``;`` percent-encoded; or pass it unencoded as the
``connection_string`` transport option with the URL ``azurestoragequeues://``.
``ACCOUNT_URL`` is the queue endpoint, e.g. ``https://ACCOUNT.queue.core.windows.net``
or Azurite's ``http://127.0.0.1:10001/devstoreaccount1``.  Everything up to the
*last* ``@`` is the credential, so keys and SAS tokens may hold ``/``.
"""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

__all__ = (
    "AZURE_MESSAGE_LIMIT",
    "SCHEME",
    "Endpoint",
    "entity_name",
    "mask_uri",
    "parse_uri",
)

SCHEME = "azurestoragequeues"
#: The service's limit on one message's text (bytes).
AZURE_MESSAGE_LIMIT = 64 * 1024
#: kombu's mangling: every ASCII punctuation character becomes ``-``.
CHARS_REPLACE_TABLE = {ord(c): 0x2D for c in string.punctuation}

_IDENTITY = {"defaultazurecredential": "DefaultAzureCredential",
             "managedidentitycredential": "ManagedIdentityCredential"}
_FORMS = ("azurestoragequeues://{ACCESS_KEY or SAS_TOKEN}@{ACCOUNT_URL}, "
          "azurestoragequeues://DefaultAzureCredential@{ACCOUNT_URL}, "
          "azurestoragequeues://ManagedIdentityCredential@{ACCOUNT_URL} or "
          "azurestoragequeues://{CONNECTION_STRING}")
_HYPHENS = re.compile(r"-{2,}")


@dataclass(frozen=True)
class Endpoint:
    """Where and how to connect: an account URL and credential, or a connection string."""

    account_url: str | None = None
    #: An account key, a SAS token, or the name of an azure-identity credential class.
    credential: str | None = None
    #: ``"key"``, ``"sas"``, ``"identity"`` or ``"connection_string"``.
    kind: str = "key"
    connection_string: str | None = None

    @property
    def account_name(self) -> str:
        """The storage account's name (the path's first part on Azurite and IP hosts)."""
        if self.connection_string:
            match = re.search(r"AccountName=([^;]+)", self.connection_string)
            return match.group(1) if match else ""
        parts = urlsplit(self.account_url or "")
        path = parts.path.strip("/")
        host = parts.hostname or ""
        if path and (host.replace(".", "").isdigit() or host == "localhost" or ":" in host
                     or "." not in host):
            return path.split("/")[0]
        return host.split(".")[0]

    def client_credential(self) -> Any:
        """What QueueServiceClient takes as ``credential`` (imports azure-identity if asked)."""
        if self.kind == "key":
            return {"account_name": self.account_name, "account_key": self.credential}
        if self.kind == "identity":
            try:
                import azure.identity as identity
            except ImportError as exc:
                raise ImportError(
                    f"The {self.credential} URL form of kombu-azure needs azure-identity: "
                    f"pip install 'kombu-azure[identity]'") from exc
            return getattr(identity, str(self.credential))()
        return None  # SAS: in the URL's query


def parse_uri(uri: str) -> Endpoint:
    """Read one of the URL forms in this module's docstring (ValueError otherwise)."""
    rest = uri.split("://", 1)[1] if "://" in uri else uri
    if uri.split("://", 1)[0].lower() not in (SCHEME, "azure"):
        rest = uri
    if "@" not in rest and "%3B" in rest.upper():
        rest = re.sub("%3[Bb]", ";", rest)
    if "@" not in rest and ("AccountName=" in rest or "UseDevelopmentStorage=" in rest
                            or "QueueEndpoint=" in rest):
        return Endpoint(connection_string=rest, kind="connection_string")
    if "@" not in rest:
        raise ValueError(f"Malformed Azure Storage Queues URL {mask_uri(uri)!r}: need {_FORMS}")
    credential, url = rest.rsplit("@", 1)
    if not credential or not url:
        raise ValueError(f"Malformed Azure Storage Queues URL {mask_uri(uri)!r}: need {_FORMS}")
    if "://" not in url:
        url = f"https://{url}"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"Malformed Azure Storage Queues URL {mask_uri(uri)!r}: the account "
                         f"URL after '@' must be http(s)://HOST[:PORT][/ACCOUNT]; need {_FORMS}")
    url = url.rstrip("/")
    named = _IDENTITY.get(credential.lower())
    if named:
        return Endpoint(url, named, "identity")
    if "sig=" in credential:
        token = credential.lstrip("?")
        sep = "&" if "?" in url else "?"
        return Endpoint(f"{url}{sep}{token}", token, "sas")
    return Endpoint(url, credential, "key")


def mask_uri(uri: str, mask: str = "**") -> str:
    """``uri`` with its credential (key, SAS token, AccountKey=) replaced by ``mask``."""
    uri = re.sub(r"(AccountKey|SharedAccessSignature)=(?:(?!%3[Bb])[^;])*", rf"\1={mask}", uri)
    head, sep, rest = uri.partition("://")
    if not sep:
        return uri
    if "@" in rest:
        credential, url = rest.rsplit("@", 1)
        if credential.lower() not in _IDENTITY:
            credential = mask
        rest = f"{credential}@{url}"
    return f"{head}{sep}{rest}"


def entity_name(name: str, prefix: str = "") -> str:
    """The Azure queue for kombu queue ``name``: kombu's mangling, made valid for Azure.

    As kombu: ``prefix + name`` with every punctuation character replaced by
    ``-``.  Then, as Azure requires (3-63 characters of ``a-z0-9-``, no ``--``,
    starting and ending with a letter or digit): lower-cased, other characters
    and runs of ``-`` made one ``-``, padded or shortened with a hash suffix.
    A name already valid is left as kombu leaves it.
    """
    mangled = str(prefix + name).translate(CHARS_REPLACE_TABLE)
    valid = mangled.lower()
    valid = re.sub(r"[^a-z0-9-]", "-", valid)
    valid = _HYPHENS.sub("-", valid).strip("-")
    if valid != mangled or not 3 <= len(valid) <= 63:
        digest = hashlib.sha1(mangled.encode("utf-8")).hexdigest()[:8]
        if valid != mangled.lower() or len(valid) > 63:
            valid = f"{valid[:54].strip('-')}-{digest}".strip("-")
        if len(valid) < 3:
            valid = f"q-{valid}-{digest}".replace("--", "-")
    return valid
