"""Strict validation of engine events against the openai SDK's own pydantic types."""

from __future__ import annotations

import typing
from typing import Any

from openai.types.beta.realtime import RealtimeServerEvent as BetaEvent
from openai.types.realtime import RealtimeServerEvent as GAEvent
from pydantic import BaseModel, TypeAdapter


def _by_type(union: Any) -> dict[str, type[BaseModel]]:
    """type literal -> event class, so a failure names the one class that applies."""
    while typing.get_origin(union) is typing.Annotated:
        union = typing.get_args(union)[0]
    out = {}
    for cls in typing.get_args(union):
        for lit in typing.get_args(cls.model_fields["type"].annotation):
            out[lit] = cls
    return out


CLASSES = {"ga": _by_type(GAEvent), "beta": _by_type(BetaEvent)}
ADAPTERS = {"ga": TypeAdapter(GAEvent), "beta": TypeAdapter(BetaEvent)}
ALLOWED_EXTRA = {"x_verbatim"}   # the engine's one vendor field, inside session objects
# What the service puts in every session object though the SDK's GA session type (a create
# *request*) and beta type do not declare it.
SESSION_EXTRA = {"id", "object", "expires_at", "x_verbatim"}


def _extras(model: Any, path: str = "") -> list[str]:
    out = []
    if isinstance(model, BaseModel):
        allowed = SESSION_EXTRA if path == ".session" else ALLOWED_EXTRA
        for k in (model.model_extra or {}):
            if k not in allowed:
                out.append(f"{path}.{k}")
        for name in type(model).model_fields:
            out += _extras(getattr(model, name), f"{path}.{name}")
    elif isinstance(model, (list, tuple)):
        for i, m in enumerate(model):
            out += _extras(m, f"{path}[{i}]")
    elif isinstance(model, dict):
        for k, m in model.items():
            out += _extras(m, f"{path}.{k}")
    return out


def validate_event(ev: dict[str, Any], flavor: str) -> BaseModel:
    """Parse with the SDK's discriminated union; unknown fields anywhere are a failure."""
    cls = CLASSES[flavor].get(ev.get("type"))
    assert cls is not None, f"{ev.get('type')!r} is not a {flavor} server event type"
    model = cls.model_validate(ev)
    assert model.type == ev["type"]
    extras = _extras(model)
    assert not extras, f"{ev['type']} has fields the SDK does not know: {extras}"
    return model


def validate_all(events: list[dict[str, Any]], flavor: str) -> set[str]:
    for ev in events:
        validate_event(ev, flavor)
    return {e["type"] for e in events}


class RecordingServer:
    """A minimal Realtime server on 127.0.0.1 that records every connection attempt (path,
    query and headers, on the server side) and answers the session handshake; with `status`
    it refuses every attempt with that HTTP status; with `tls` (an SSLContext) it is wss://."""

    def __init__(self, *, status: int | None = None, tls=None) -> None:
        self.status = status
        self.tls = tls
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._server = None

    @property
    def port(self) -> int:
        return next(iter(self._server.sockets)).getsockname()[1]

    def base(self, scheme: str) -> str:
        return f"{scheme}://127.0.0.1:{self.port}"

    async def __aenter__(self) -> RecordingServer:
        import websockets

        self._server = await websockets.serve(self._handler, "127.0.0.1", 0, ssl=self.tls,
                                              process_request=self._process)
        return self

    async def __aexit__(self, *exc) -> None:
        self._server.close()
        await self._server.wait_closed()

    def _process(self, connection, request):
        self.requests.append((request.path, {k.lower(): v for k, v in request.headers.raw_items()}))
        if self.status is not None:
            return connection.respond(self.status, "refused\n")
        return None

    async def _handler(self, ws) -> None:
        import json

        await ws.send(json.dumps({"type": "session.created", "event_id": "e0", "session": {"type": "realtime"}}))
        async for msg in ws:
            if json.loads(msg).get("type") == "session.update":
                await ws.send(json.dumps({"type": "session.updated", "event_id": "e1",
                                          "session": {"type": "realtime"}}))


def make_tls(directory) -> tuple[Any, str]:
    """A throwaway CA and a 127.0.0.1 certificate it signed: (server SSLContext, CA file).
    Point SSL_CERT_FILE at the CA file and the SDK's own wss:// connection trusts it."""
    import datetime
    import ipaddress
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Verbatim test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(hours=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(leaf_key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    ca_file, cert_file, key_file = directory / "ca.pem", directory / "leaf.pem", directory / "leaf.key"
    ca_file.write_bytes(ca.public_bytes(pem))
    cert_file.write_bytes(leaf.public_bytes(pem))
    key_file.write_bytes(leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_file, key_file)
    return ctx, str(ca_file)
