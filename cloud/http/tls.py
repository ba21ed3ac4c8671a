"""HTTPS with optional client certificates: the ASGI TLS extension, which uvicorn (0.54) does not provide.

uvicorn terminates TLS (``ssl_certfile`` …, ``ssl_cert_reqs=ssl.CERT_OPTIONAL`` with ``ssl_ca_certs``) but puts
nothing about the peer's certificate into the request scope. :class:`TlsH11Protocol`, passed to uvicorn as
``http=``, fills in ``scope["extensions"]["tls"]`` as the ASGI TLS extension defines it
(https://asgi.readthedocs.io/en/latest/specs/tls.html):

- ``client_cert_chain``: PEM strings, the client's certificate first; empty when it showed none;
- ``client_cert_name``: that certificate's subject (RFC 4514), or None;
- ``client_cert_error``: None — under ``CERT_OPTIONAL`` a certificate that fails verification fails the
  handshake, so a certificate that reaches the app was verified against ``ssl_ca_certs`` (set only when
  ``cryptography`` cannot read one OpenSSL accepted);
- ``server_cert`` (the first certificate of ``ssl_certfile``), ``tls_version`` (0x0304 for TLS 1.3),
  ``cipher_suite`` (0x1302 for TLS_AES_256_GCM_SHA384).

The hook: uvicorn's protocol object lives as long as its connection and hands every request's scope to
``self.app``. Once asyncio calls ``connection_made`` the handshake is over and the peer certificate known, so the
connection wraps ``self.app`` in a function that adds the extension to each scope. Only the TLS connection
fills it in, never a header. Python's ``ssl`` gives the peer's own certificate only (``get_verified_chain`` is
Python 3.13+), so the chain has one element: gateway certificates are signed by the device CA directly.
WebSocket connections (handed to another protocol class on upgrade) do not get the extension.
"""

from __future__ import annotations

import asyncio
import functools
import os
import ssl
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from cloud.settings import ApiTlsSettings
from safegrid.config import ConfigError

TLS_VERSIONS = {"TLSv1": 0x0301, "TLSv1.1": 0x0302, "TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


def client_certificate(scope: Scope) -> str | None:
    """The PEM of the client certificate the TLS connection verified, or None (plain HTTP, or none shown)."""
    tls = (scope.get("extensions") or {}).get("tls")
    if not tls or tls.get("client_cert_error"):
        return None
    chain = list(tls.get("client_cert_chain") or ())
    return chain[0] if chain else None


@functools.lru_cache(maxsize=4)
def _server_cert(path: str) -> str | None:
    try:
        with open(path, "rb") as file:
            return x509.load_pem_x509_certificate(file.read()).public_bytes(serialization.Encoding.PEM).decode()
    except (OSError, ValueError):
        return None


def _cipher_suite(ssl_object: ssl.SSLObject | ssl.SSLSocket) -> int | None:
    cipher = ssl_object.cipher()
    if cipher is None:
        return None
    for known in ssl_object.context.get_ciphers():
        if known["name"] == cipher[0]:
            return int(known["id"]) & 0xFFFF  # OpenSSL's id is 0x0300XXXX, XXXX the IANA code point
    return None


def tls_extension(transport: asyncio.BaseTransport, *, server_certfile: str | None) -> dict[str, Any] | None:
    """The ASGI ``tls`` extension of a connection, or None when it is not over TLS."""
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    chain: list[str] = []
    name = error = None
    if der:
        try:
            cert = x509.load_der_x509_certificate(der)
            name = cert.subject.rfc4514_string()
        except ValueError as exc:  # OpenSSL accepted what cryptography cannot read: the app gets no certificate
            error = f"unreadable client certificate: {exc}"
        else:
            chain.append(cert.public_bytes(serialization.Encoding.PEM).decode("ascii"))
    return {"server_cert": _server_cert(server_certfile) if server_certfile else None,
            "client_cert_chain": chain, "client_cert_name": name, "client_cert_error": error,
            "tls_version": TLS_VERSIONS.get(ssl_object.version() or ""), "cipher_suite": _cipher_suite(ssl_object)}


def with_tls_extension(app: ASGIApp, tls: dict[str, Any]) -> ASGIApp:
    """``app`` with ``tls`` as ``scope["extensions"]["tls"]`` of each HTTP request (a copy each time)."""

    async def app_with_tls(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            extensions = dict(scope.get("extensions") or {})
            extensions["tls"] = {**tls, "client_cert_chain": list(tls["client_cert_chain"])}
            scope["extensions"] = extensions
        await app(scope, receive, send)

    return app_with_tls


class TlsH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, with the ASGI TLS extension in every request's scope on a TLS connection."""

    # uvicorn's base declares BaseTransport, but it is handed (and itself uses) an asyncio.Transport
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        certfile = self.config.ssl_certfile
        tls = tls_extension(transport, server_certfile=os.fspath(certfile) if certfile else None)
        if tls is not None:
            self.app = with_tls_extension(self.app, tls)


def uvicorn_tls_options(tls: ApiTlsSettings | None, *, config_path: str | None) -> dict[str, Any]:
    """``uvicorn.run`` keyword arguments serving ``[api.tls]`` (none for plain HTTP). The files are loaded once
    here, so a wrong one is a ``ConfigError`` naming its key instead of a traceback from each worker."""
    if tls is None:
        return {}
    where = config_path or "<settings>"
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(tls.cert_file, tls.key_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(where, "api.tls.cert_file", f"cannot load it with key_file {tls.key_file}: {exc}") from None
    if tls.client_ca_file is not None:
        try:
            context.load_verify_locations(tls.client_ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(where, "api.tls.client_ca_file", f"cannot load it: {exc}") from None
    return {"http": TlsH11Protocol, "ssl_certfile": str(tls.cert_file), "ssl_keyfile": str(tls.key_file),
            "ssl_ca_certs": None if tls.client_ca_file is None else str(tls.client_ca_file),
            "ssl_cert_reqs": ssl.CERT_NONE if tls.client_ca_file is None else ssl.CERT_OPTIONAL}
