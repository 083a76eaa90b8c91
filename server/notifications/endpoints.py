"""Which Web Push endpoints the server will ever send to: public HTTPS push services, nothing else.

A push subscription's endpoint is a URL the browser hands over and the server later POSTs to. Taken as
given, any signed-in person could name ``https://10.0.0.5/admin`` or ``https://metadata.internal/`` and
have the server send requests into the deployment's own network (server-side request forgery). So an
endpoint is accepted only when it is ``https://`` on the default port, without user info, and its host
is, or resolves only to, globally routable addresses (no loopback, private, link-local, shared,
reserved, documentation or multicast ones). Sending re-checks the host and never follows redirects
(see :class:`server.notifications.channels.WebPushChannel`), so a later DNS change or a 307 cannot lead
a push elsewhere either.

Resolution is injectable (``AppContext.resolve_host``) so tests need no DNS."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from server.errors import Invalid

# host → its addresses (IPv4 or IPv6 text); raises OSError when the name does not resolve.
Resolver = Callable[[str], Awaitable[list[str]]]


async def system_resolver(host: str) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, 443, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def resolve_blocking(host: str) -> list[str]:
    """:func:`system_resolver` for code already running in a worker thread."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)]


def is_public(address: str) -> bool:
    """Whether an address is globally routable: what a push service has, and nothing inside a network."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback
    return ip.is_global and not ip.is_multicast


class EndpointRefused(Invalid):
    pass


def endpoint_host(endpoint: str) -> str:
    """The host of an acceptable endpoint's URL; :class:`EndpointRefused` for any other URL."""
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        raise EndpointRefused("This is not a push service's address.") from None
    if parts.scheme != "https" or not parts.hostname or parts.username is not None or parts.password is not None \
            or port not in (None, 443):
        raise EndpointRefused("Reminders can only be sent through a public push service (https).")
    return parts.hostname


def check_addresses(host: str, addresses: list[str]) -> None:
    if not addresses or not all(is_public(address) for address in addresses):
        raise EndpointRefused("Reminders can only be sent through a public push service (https).")


async def check_endpoint(endpoint: str, resolve: Resolver) -> None:
    """Refuses (:class:`EndpointRefused`) an endpoint the server must not send to."""
    host = endpoint_host(endpoint)
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            addresses = await resolve(host)
        except (OSError, UnicodeError):
            raise EndpointRefused("The push service's address cannot be found.") from None
    check_addresses(host, addresses)
