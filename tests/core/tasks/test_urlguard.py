"""The webhook URL guard judges IPv6 addresses that carry an IPv4 one by that address."""

import ipaddress

import pytest

from agentqueue.core.tasks.urlguard import UnsafeURL, check_url, refusal


@pytest.mark.parametrize(
    ("address", "inside"),
    [
        ("2002:7f00:1::1", "127.0.0.1"),  # 6to4
        ("2002:a9fe:a9fe::1", "169.254.169.254"),
        ("2002:0a00:0001::1", "10.0.0.1"),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "127.0.0.1"),  # Teredo, inverted client
        ("2001:0:4136:e378:8000:63bf:5601:5601", "169.254.169.254"),
        ("64:ff9b::7f00:1", "127.0.0.1"),  # NAT64, well-known prefix
        ("64:ff9b::a9fe:a9fe", "169.254.169.254"),
        ("64:ff9b:1:a00:1::", "10.0.1.0"),  # NAT64 local-use, /48 position
        ("64:ff9b:1::a00:1", "10.0.0.1"),  # /96 position
        ("::ffff:127.0.0.1", "127.0.0.1"),  # IPv4-mapped
        ("::ffff:a9fe:a9fe", "169.254.169.254"),
        ("::127.0.0.1", "127.0.0.1"),  # IPv4-compatible (deprecated)
    ],
)
async def test_embedded_private_ipv4_is_refused(address: str, inside: str) -> None:
    reason = refusal(ipaddress.ip_address(address))
    assert reason is not None
    with pytest.raises(UnsafeURL, match="public addresses only"):
        await check_url(f"https://[{address}]/hook")


@pytest.mark.parametrize(
    "address", ["2002:0808:0808::1", "64:ff9b::808:808", "::ffff:8.8.8.8", "2606:4700::1111"]
)
async def test_embedded_public_ipv4_is_judged_by_it(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None
    assert await check_url(f"https://[{address}]/hook") == [ipaddress.ip_address(address)]


def test_the_reason_names_the_ipv4_inside() -> None:
    assert refusal(ipaddress.ip_address("2002:7f00:1::1")) == "6to4 of 127.0.0.1: loopback"
    teredo = refusal(ipaddress.ip_address("2001:0:4136:e378:8000:63bf:80ff:fffe"))
    assert teredo == "Teredo of 127.0.0.1: loopback"


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "fe80::1"])
def test_plain_private_addresses_are_still_refused(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is not None
