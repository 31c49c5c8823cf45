"""Refuse webhook URLs that point inside our own network (server-side request forgery).

A webhook makes *our* workers send a request to an address a client chose. Without a
check, ``http://169.254.169.254/`` reads the cloud's instance metadata (credentials),
``http://10.0.0.5:6379`` talks to an internal Redis, ``http://127.0.0.1`` to the pod
itself. So a URL is accepted only if **every** address its host resolves to is globally
routable: not private, loopback, link-local, multicast, reserved, unspecified or
otherwise non-global (carrier-grade NAT, documentation ranges; IPv4-mapped IPv6 is
judged by its IPv4 address).

The check runs twice: at submission (a clear 422 for the client) and again at delivery,
because DNS can change in between (DNS rebinding). At delivery the request is sent to the
address that was checked — not to the name, which could resolve differently a second time.

``allow_private`` turns the check off (tests, or a cluster whose receivers are internal);
``allow_http`` permits plain ``http`` (otherwise ``https`` only).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from agentqueue.core.base.errors import AgentQueueError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeURL(AgentQueueError):
    """The URL may not be called: wrong scheme, unresolvable, or a non-public address.

    ``retryable`` is True only when the name did not resolve (DNS may answer later).
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


def refusal(ip: IPAddress) -> str | None:
    """Why ``ip`` may not be called, or None when it is a public address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return refusal(ip.ipv4_mapped)
    for reason, flag in (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        ("not globally routable", not ip.is_global),
    ):
        if flag:
            return reason
    return None


def _parts(url: str, *, allow_http: bool) -> tuple[str, int]:
    parts = urlsplit(url)
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        raise UnsafeURL(f"the URL must use {' or '.join(schemes)}, not {parts.scheme!r}")
    if not parts.hostname:
        raise UnsafeURL("the URL has no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeURL(f"invalid port: {exc}") from None
    return parts.hostname, port


async def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        literal: IPAddress = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return [literal]
    try:
        # getaddrinfo blocks; a thread keeps the event loop free while DNS answers.
        infos = await asyncio.to_thread(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeURL(f"cannot resolve {host!r}: {exc}", retryable=True) from None
    out: list[IPAddress] = []
    for *_, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])  # drop an IPv6 zone
        if ip not in out:
            out.append(ip)
    if not out:
        raise UnsafeURL(f"{host!r} resolves to no address")
    return out


async def check_url(
    url: str, *, allow_private: bool = False, allow_http: bool = False
) -> list[IPAddress]:
    """The addresses ``url`` may be called at, in resolver order; raise :class:`UnsafeURL`.

    Refused when *any* address is non-public: a name that resolves to one public and one
    private address could be served by either.
    """
    host, port = _parts(url, allow_http=allow_http)
    addresses = await _resolve(host, port)
    if not allow_private:
        for ip in addresses:
            reason = refusal(ip)
            if reason is not None:
                where = str(ip) if str(ip) == host else f"{host!r} resolves to {ip}"
                raise UnsafeURL(
                    f"{where} ({reason}): webhooks go to public addresses only "
                    "(AGENTQUEUE_WEBHOOK_ALLOW_PRIVATE=true lifts this)"
                )
    return addresses
