"""The client's address behind reverse proxies, believed only from the proxies the deployment names.

Throttling counts failed sign-ins per client address. If ``X-Forwarded-For`` were taken from anyone, a
guesser would write a new address into each request and never be slowed down; so the header is read
only when the connection comes from one of ``HOMEWATCH_TRUSTED_PROXIES`` (empty by default: nobody).
The app server's own proxy-header handling stays off (``homewatch serve``, the Dockerfile), so this is
the one place that decides."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[Network, ...]:
    """``"10.0.0.0/8, 127.0.0.1"`` → networks; ValueError names an entry that is not an address."""
    networks = []
    for entry in (part.strip() for part in text.split(",")):
        if entry:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(f"not an address or network: {entry!r}") from None
    return tuple(networks)


def _trusted(address: str, networks: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_of(peer: str, forwarded_for: str | None, networks: tuple[Network, ...]) -> str:
    """The client's address: the connection's own, unless it comes from a trusted proxy; then the
    nearest address in ``X-Forwarded-For`` that is not a trusted proxy itself (read from the right:
    entries further left were written by whoever sent the request, and may be made up)."""
    if not forwarded_for or not _trusted(peer, networks):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",")]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # not an address: written by no proxy of ours
    return hops[0] or peer


def scheme_of(peer: str, forwarded_proto: str | None, scheme: str, networks: tuple[Network, ...]) -> str:
    """The scheme the client used: the connection's own, unless a trusted proxy says (in
    ``X-Forwarded-Proto``, its nearest entry) that the client came over ``https`` or ``http``."""
    if not forwarded_proto or not _trusted(peer, networks):
        return scheme
    nearest = forwarded_proto.split(",")[-1].strip().lower()
    return nearest if nearest in ("http", "https") else scheme


class TrustedProxies:
    """ASGI middleware: replaces the scope's client with the address :func:`client_of` finds, and its
    scheme with the one :func:`scheme_of` finds, so the app (and the access log) see the real client,
    and HTTPS behind a TLS-terminating proxy is known as such (HSTS, ``__Host-`` cookies)."""

    def __init__(self, app: ASGIApp, *, networks: tuple[Network, ...]) -> None:
        self.app = app
        self.networks = networks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.networks and scope["type"] in ("http", "websocket") and scope.get("client"):
            peer, port = scope["client"]
            forwarded = [value.decode("latin-1") for name, value in scope["headers"] if name == b"x-forwarded-for"]
            client = client_of(peer, ",".join(forwarded) or None, self.networks)
            proto = [value.decode("latin-1") for name, value in scope["headers"] if name == b"x-forwarded-proto"]
            scheme = scheme_of(peer, ",".join(proto) or None, scope.get("scheme", "http"), self.networks)
            if client != peer or scheme != scope.get("scheme"):
                scope = dict(scope)
                scope["client"] = (client, port)
                if scheme != scope.get("scheme"):
                    scope["scheme"] = scheme if scope["type"] == "http" else {"https": "wss", "http": "ws"}[scheme]
        await self.app(scope, receive, send)
