"""Azurite's address and the well-known development account, for the azure tests."""

from __future__ import annotations

HOST, PORT = "127.0.0.1", 10001
ACCOUNT = "devstoreaccount1"
#: Azurite's well-known development key (published with Azurite).
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
ACCOUNT_URL = f"http://{HOST}:{PORT}/{ACCOUNT}"
URL = f"azurestoragequeues://{KEY}@{ACCOUNT_URL}"
CONNECTION_STRING = (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
                     f"QueueEndpoint={ACCOUNT_URL};")
