"""Refuse webhook URLs that point inside our own network (server-side request forgery).

A webhook makes *our* workers send a request to an address a client chose. Without a
check, ``http://169.254.169.254/`` reads the cloud's instance metadata (credentials),
``http://10.0.0.5:6379`` talks to an internal Redis, ``http://127.0.0.1`` to the pod
itself. So a URL is accepted only if **every** address its host resolves to is globally
routable: not private, loopback, link-local, multicast, reserved, unspecified or
otherwise non-global (carrier-grade NAT, documentation ranges). An IPv6 address that
carries an IPv4 one — IPv4-mapped (``::ffff:0:0/96``), IPv4-compatible (``::/96``), 6to4
(``2002::/16``), Teredo (``2001::/32``, the client's address inverted in the last 32
bits) and NAT64 (``64:ff9b::/96``, and the local-use ``64:ff9b:1::/48`` at each of
RFC 6052's positions) — is judged by that IPv4 address too, since a relay or translator
delivers it there: ``https://[2002:7f00:1::1]/`` is ``127.0.0.1``.

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


_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")


def _rfc6052(ip: ipaddress.IPv6Address, prefix: int) -> ipaddress.IPv4Address:
    """The IPv4 address embedded after a NAT64 prefix of ``prefix`` bits (RFC 6052 §2.2:
    bits 64-71 are skipped)."""
    raw = ip.packed
    if prefix == 96:
        v4 = raw[12:16]
    else:
        start = prefix // 8
        v4 = (raw[start:8] + raw[9:])[:4]
    return ipaddress.IPv4Address(v4)


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """The IPv4 addresses an IPv6 address hands traffic to, with the mechanism's name."""
    if ip.ipv4_mapped is not None:
        return [("IPv4-mapped", ip.ipv4_mapped)]
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:  # ``::`` and ``::1`` are judged as IPv6
        return [("IPv4-compatible", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))]
    if ip.sixtofour is not None:
        return [("6to4", ip.sixtofour)]
    if ip.teredo is not None:
        server, client = ip.teredo  # the client's address, already un-inverted
        return [("Teredo", client), ("Teredo server", server)]
    if ip in _NAT64:
        return [("NAT64", _rfc6052(ip, 96))]
    if ip in _NAT64_LOCAL:
        return [("NAT64", _rfc6052(ip, p)) for p in (48, 56, 64, 96)]
    return []


def refusal(ip: IPAddress) -> str | None:
    """Why ``ip`` may not be called, or None when it is a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = embedded_ipv4(ip)
        for mechanism, v4 in embedded:
            reason = refusal(v4)
            if reason is not None:
                return f"{mechanism} of {v4}: {reason}"
        if embedded and (ip.ipv4_mapped or ip.sixtofour or ip in _NAT64):
            return None  # a translation of a public IPv4 address: that address decides
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
