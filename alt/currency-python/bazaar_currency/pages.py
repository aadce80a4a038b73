"""Page tokens, in the format the Rust services use (crates/chassis/src/page.rs).

A token is `v1.` then the hex of `<fingerprint>:<position>`, where the fingerprint is the
FNV-1a hash of the parts of the request that must not change between pages. The same
format means a token issued by one implementation is taken by the other: replicas of
either kind can sit behind one balancer during a swap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_OFFSET = 0xCBF29CE484222325
_PRIME = 0x00000100000001B3
_MASK = 2**64 - 1
# What Rust's `u8::from_str_radix(_, 16)` takes for two characters: two hex digits, or a
# plus sign and one.
_HEX_PAIR = re.compile(r"[0-9a-fA-F]{2}|\+[0-9a-fA-F]")

NEGATIVE_SIZE = "page_size must not be negative"
BAD_TOKEN = "page_token is not a token issued for this request; start again without it"


def fingerprint(parts: list[str]) -> int:
    """FNV-1a over the UTF-8 of each part, each followed by a 0xff separator."""
    value = _OFFSET
    for part in parts:
        for byte in part.encode("utf-8") + b"\xff":
            value ^= byte
            value = (value * _PRIME) & _MASK
    return value


def encode(print_: int, position: str) -> str:
    """The token of the page that starts after `position`."""
    return "v1." + f"{print_:016x}:{position}".encode("utf-8").hex()


def decode(token: str, print_: int) -> str | None:
    """The position `token` points at; None for the empty token (the first page).
    Raises ValueError for a token this query did not issue."""
    if not token:
        return None
    if not token.startswith("v1."):
        raise ValueError(BAD_TOKEN)
    hex_text = token[3:]
    raw = hex_text.encode("utf-8")
    if len(raw) % 2 != 0 or len(raw) > 2048:
        raise ValueError(BAD_TOKEN)
    pairs = [hex_text[i : i + 2] for i in range(0, len(hex_text), 2)]
    if not all(_HEX_PAIR.fullmatch(pair) for pair in pairs):
        raise ValueError(BAD_TOKEN)
    try:
        plain = bytes(int(pair, 16) for pair in pairs).decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(BAD_TOKEN) from error
    seen, colon, position = plain.partition(":")
    if not colon or seen != f"{print_:016x}":
        raise ValueError(BAD_TOKEN)
    return position


@dataclass(frozen=True)
class PageRequest:
    """How many items at most, and the position to start after (None: the first page)."""

    size: int
    position: str | None


def parse_request(
    page_size: int,
    page_token: str,
    print_: int,
    default: int,
    maximum: int,
    violations: list[tuple[str, str]],
) -> PageRequest | None:
    """Parses `page_size` (0 means `default`, larger than `maximum` is clamped) and
    `page_token`. Problems are appended to `violations` as (field, description); None then."""
    size: int | None = None
    if page_size < 0:
        violations.append(("page_size", NEGATIVE_SIZE))
    else:
        size = default if page_size == 0 else min(page_size, maximum)
    position: str | None = None
    token_ok = True
    try:
        position = decode(page_token, print_)
    except ValueError as error:
        violations.append(("page_token", str(error)))
        token_ok = False
    if size is None or not token_ok:
        return None
    return PageRequest(size, position)
