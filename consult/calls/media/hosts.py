"""Which local addresses the worker offers as ICE host candidates.

aioice gathers host candidates from every interface except loopback
(``aioice.ice.get_host_addresses``, called by ``Connection.gather_candidates``). A
worker on a multi-homed host must offer only the addresses browsers can reach, and the
tests need 127.0.0.1, so when ``MEDIA_HOST_ADDRESSES`` is set this module replaces
that function, in the worker process only, by one returning exactly those addresses.
"""

from __future__ import annotations

import ipaddress


def restrict_host_addresses(addresses: list[str]) -> None:
    """Make aioice gather host candidates on ``addresses`` only (all interfaces when
    empty). Raises ValueError on something that is not an IP address."""
    if not addresses:
        return
    parsed = [ipaddress.ip_address(address) for address in addresses]

    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [str(ip) for ip in parsed
                if (ip.version == 4 and use_ipv4) or (ip.version == 6 and use_ipv6)]

    import aioice.ice

    aioice.ice.get_host_addresses = get_host_addresses
