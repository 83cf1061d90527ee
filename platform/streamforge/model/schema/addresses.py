"""IPv4 addresses, networks and address pools as the env files write them; each parser refuses
a wrong value with the fix (an `Invalid`)."""

from __future__ import annotations

import ipaddress

from streamforge.model.schema.base import Invalid


def ipv4(value: str, example: str = "`192.168.1.153`") -> ipaddress.IPv4Address:
    """`value` as an IPv4 address; raises Invalid whose fix offers `example`, a valid value of
    the field being read."""
    try:
        return ipaddress.IPv4Address(value)
    except ValueError:
        raise Invalid(
            f"'{value}' is not an IPv4 address", f"write four numbers, e.g. {example}"
        ) from None


def network(value: str) -> ipaddress.IPv4Network:
    """`value`, a CIDR such as 192.168.1.0/24, as a network; raises Invalid when it is none,
    and for a CIDR with host bits set names the network it probably means."""
    try:
        return ipaddress.IPv4Network(value)
    except ValueError:
        try:
            meant = ipaddress.IPv4Network(value, strict=False)
        except ValueError:
            raise Invalid(
                f"'{value}' is not a CIDR", "write an address and a prefix, e.g. `192.168.1.0/24`"
            ) from None
        raise Invalid(
            f"'{value}' has host bits set", f"write the network address: `{meant}`"
        ) from None


def address_range(value: str) -> tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]:
    """The first and last address of `value`, a range `a.b.c.d-e.f.g.h` or a CIDR; raises
    Invalid (with a range or CIDR to write instead) when it is neither, ends before it
    starts, or is a CIDR with host bits set."""
    pool_example = "`192.168.1.144/28` or `192.168.1.150-192.168.1.169`"
    if "-" in value:
        first, last = (ipv4(part.strip(), pool_example) for part in value.split("-", 1))
        if last < first:
            raise Invalid(
                f"range '{value}' ends before it starts", f"write low-high: `{last}-{first}`"
            )
        return first, last
    try:
        net = ipaddress.IPv4Network(value)
    except ValueError:
        try:
            meant = ipaddress.IPv4Network(value, strict=False)
        except ValueError:
            raise Invalid(
                f"'{value}' is neither a CIDR nor a range", f"write e.g. {pool_example}"
            ) from None
        start = ipaddress.IPv4Address(value.split("/")[0])
        raise Invalid(
            f"'{value}' has host bits set",
            f"write a range from that address, e.g. "
            f"`{start}-{max(start, meant.broadcast_address - 1)}`",
        ) from None
    return net[0], net[-1]
