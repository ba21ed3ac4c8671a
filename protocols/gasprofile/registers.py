"""Read plans and register images: which blocks to read, and checked access to the words read.

A *read plan* is the fewest (function, address, count) reads that cover a profile's registers. What a poll
returns is a mapping from each block to its words; :func:`image_from_blocks` checks it (lengths, 16-bit words,
0/1 bits, agreement where blocks overlap) and turns it into an *image*: function → address → word. Encoders
produce an image, and :func:`blocks_from_image` slices it back into blocks — what a simulator serves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from protocols.errors import ProfileError
from protocols.gasprofile.model import MAX_READ_COUNT, Profile, Span

Image = dict[int, dict[int, int]]  # function → address → word (0/1 for coils and discrete inputs)
BIT_FUNCTIONS = (1, 2)
EPOCH = date(1970, 1, 1)
NO_DATE_WORDS = (0, 0xFFFF)  # a unix_days register holding either means "never"


@dataclass(frozen=True, slots=True, order=True)
class ReadBlock:
    """One read: Modbus function (1 coils, 2 discrete inputs, 3 holding, 4 input registers), start, count."""

    function: int
    address: int
    count: int


def read_plan(profile: Profile, *, include_static: bool = True) -> tuple[ReadBlock, ...]:
    """The fewest reads covering the profile's live registers and, if asked, its static ones (set-points,
    dates, identification), merging neighbours up to ``modbus.max_read_gap`` unmapped registers apart."""
    spans = [s for s in profile.spans() if s.role != "watchdog" and (include_static or not s.static)]
    return plan_spans(spans, max_gap=profile.modbus.max_read_gap, max_count=profile.modbus.max_read_count)


def plan_spans(spans: Iterable[Span], *, max_gap: int, max_count: int) -> tuple[ReadBlock, ...]:
    """Greedy over sorted addresses: a block grows while the next address is within ``max_gap`` unmapped
    registers and the block stays within the per-read limit (a wide text field may span two reads)."""
    by_function: dict[int, set[int]] = {}
    for span in spans:
        by_function.setdefault(span.function, set()).update(range(span.address, span.address + span.width))
    blocks: list[ReadBlock] = []
    for function in sorted(by_function):
        limit = max_count if function not in BIT_FUNCTIONS else MAX_READ_COUNT[function]
        start = end = -1  # current block covers start..end-1
        for address in sorted(by_function[function]):
            if start >= 0 and address <= end + max_gap and address - start < limit:
                end = address + 1
                continue
            if start >= 0:
                blocks.append(ReadBlock(function, start, end - start))
            start, end = address, address + 1
        if start >= 0:
            blocks.append(ReadBlock(function, start, end - start))
    return tuple(blocks)


def _bad_registers(message: str, field: str | None = None) -> ProfileError:
    return ProfileError(message, code="bad_registers", field=field)


def _block_key(block: Any) -> tuple[int, int, int]:
    """Accept :class:`ReadBlock`, any object with function/address/count, or a 3-tuple."""
    try:
        if isinstance(block, tuple):
            function, address, count = block
        else:
            function, address, count = block.function, block.address, block.count
    except (AttributeError, TypeError, ValueError):
        raise _bad_registers(f"not a read block: {block!r:.80}") from None
    if not all(type(v) is int for v in (function, address, count)):
        raise _bad_registers(f"read block fields must be integers: {block!r:.80}")
    if function not in MAX_READ_COUNT:
        raise _bad_registers(f"function {function} is not a read of coils, inputs or registers (1-4)")
    if not 1 <= count <= MAX_READ_COUNT[function] or not 0 <= address <= 0xFFFF or address + count > 0x10000:
        raise _bad_registers(f"block address {address} count {count} is outside what function {function} reads")
    return function, address, count


def image_from_blocks(blocks: Mapping[Any, Sequence[int | bool]]) -> Image:
    """Check a poll's blocks and merge them into one image; any fault is a ``bad_registers`` ProfileError."""
    if not isinstance(blocks, Mapping):
        raise _bad_registers("blocks must map each read block to its words")
    image: Image = {}
    for block, words in blocks.items():
        function, address, count = _block_key(block)
        if not isinstance(words, Sequence) or isinstance(words, str | bytes):
            raise _bad_registers(f"words of block {function}/{address} are not a sequence")
        if len(words) != count:
            raise _bad_registers(f"block {function}/{address} should have {count} words, has {len(words)}")
        table = image.setdefault(function, {})
        for offset, word in enumerate(words):
            value = _check_word(function, word)
            previous = table.setdefault(address + offset, value)
            if previous != value:
                raise _bad_registers(f"blocks disagree at function {function} address {address + offset}")
    return image


def _check_word(function: int, word: Any) -> int:
    if function in BIT_FUNCTIONS:
        if isinstance(word, bool) or (type(word) is int and word in (0, 1)):
            return int(word)
        raise _bad_registers(f"a coil or discrete input is 0 or 1, not {word!r:.40}")
    if type(word) is not int or not 0 <= word <= 0xFFFF:
        raise _bad_registers(f"a register is a 16-bit word 0..65535, not {word!r:.40}")
    return word


def blocks_from_image(plan: Iterable[ReadBlock], image: Mapping[int, Mapping[int, int]]) -> dict[ReadBlock, list[int]]:
    """The words each block of ``plan`` reads from ``image``; addresses the image lacks read as 0."""
    return {b: [image.get(b.function, {}).get(a, 0) for a in range(b.address, b.address + b.count)] for b in plan}


class Registers:
    """Read access to an image with errors naming the profile key being decoded."""

    def __init__(self, image: Image) -> None:
        self.image = image

    def has(self, function: int, address: int, width: int = 1) -> bool:
        table = self.image.get(function, {})
        return all(a in table for a in range(address, address + width))

    def words(self, function: int, address: int, width: int, key: str) -> list[int]:
        table = self.image.get(function, {})
        try:
            return [table[a] for a in range(address, address + width)]
        except KeyError:
            raise _bad_registers(f"not read: function {function} address {address} (+{width})", key) from None


def to_signed(word: int) -> int:
    return word - 0x10000 if word >= 0x8000 else word


def decode_text(words: Sequence[int], key: str) -> str | None:
    """ASCII, two characters per register, high byte first; trailing NUL/space padding is dropped."""
    raw = b"".join(w.to_bytes(2, "big") for w in words).rstrip(b"\x00 ")
    if any(not 0x20 <= c <= 0x7E for c in raw):
        raise _bad_registers("identification text is not printable ASCII", key)
    return raw.decode("ascii") or None


def encode_text(text: str | None, length: int, key: str) -> list[int]:
    text = text or ""
    # Trailing spaces are padding to a reader, so they could not survive a round trip.
    if len(text) > 2 * length or any(not 0x20 <= ord(c) <= 0x7E for c in text) or text != text.rstrip(" "):
        raise ProfileError(f"{text!r:.80} is not printable ASCII of at most {2 * length} characters "
                           "without trailing spaces", code="not_encodable", field=key)
    raw = text.encode("ascii").ljust(2 * length, b"\x00")
    return [int.from_bytes(raw[i:i + 2], "big") for i in range(0, len(raw), 2)]


def decode_date(words: Sequence[int], encoding: str, key: str) -> date | None:
    if encoding == "unix_days":
        return None if words[0] in NO_DATE_WORDS else EPOCH + timedelta(days=words[0])
    year, month, day = words
    if year == month == day == 0:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        raise _bad_registers(f"{year}-{month}-{day} is not a date", key) from None


def encode_date(value: date | None, encoding: str, key: str) -> list[int]:
    if encoding == "unix_days":
        if value is None:
            return [0]
        days = (value - EPOCH).days
        if not 0 < days < 0xFFFF:
            raise ProfileError(f"{value} cannot be held in unix days", code="not_encodable", field=key)
        return [days]
    return [0, 0, 0] if value is None else [value.year, value.month, value.day]
