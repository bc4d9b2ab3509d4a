"""Stream a JSON Lines file record by record: gzip, UTF-8, size limits and JSON errors are found per line."""

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from alfa_platform.uploads import GZIP_ERRORS, GZIP_MAGIC, BoundedGzipReader, GzipLimitExceeded

from .base import DECODE_ERRORS, MAX_LINE_BYTES, FileRejected, RecordError

UTF8_BOM = b"\xef\xbb\xbf"


class Line:
    """One non-blank line: its number, and either the parsed record or the reason it could not be read.

    `decoded` says the record came from the format's typed decoder, which already checked its fields.
    """

    __slots__ = ("decoded", "error", "number", "record")

    def __init__(
        self, number: int, record: dict[str, Any] | None = None, error: RecordError | None = None,
        decoded: bool = False,
    ) -> None:
        self.number, self.record, self.error, self.decoded = number, record, error, decoded


class RecordStream:
    """Iterate the records of a (possibly gzip-compressed) JSON Lines file without ever holding it whole.

    `position` and `size` are in bytes of the file on disk (compressed bytes for gzip), for progress bars.
    A corrupt gzip stream, or one that inflates past the gzip caps (alfa_platform.uploads), ends the iteration with
    a FileRejected naming the line it stopped at.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = path
        self.size = os.path.getsize(path)
        self.raw = open(path, "rb")
        self.compressed = self.raw.read(2) == GZIP_MAGIC
        self.raw.seek(0)
        self.stream = BoundedGzipReader(self.raw) if self.compressed else self.raw
        self.lines_read = 0
        self.blank_lines = 0
        self.records_seen = 0  # non-blank lines, read so far
        # The format's typed decoder (bytes -> checked dict), once the format is known; a line it refuses is parsed
        # by orjson and checked field by field, which names the problems.
        self.decoder: Callable[[bytes], dict[str, Any]] | None = None

    @property
    def position(self) -> int:
        return self.raw.tell()

    def close(self) -> None:
        self.stream.close()
        self.raw.close()

    def __enter__(self) -> "RecordStream":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read_line(self) -> bytes | None:
        """Return the next line's bytes (b"" at the end); a line over MAX_LINE_BYTES is returned as None, skipped."""
        try:
            data = self.stream.readline(MAX_LINE_BYTES + 1)
            if len(data) <= MAX_LINE_BYTES or data.endswith(b"\n"):
                return data
            while data and not data.endswith(b"\n"):  # drain the rest of the oversized line without keeping it
                data = self.stream.readline(MAX_LINE_BYTES)
            return None
        except GZIP_ERRORS as exc:
            raise FileRejected(self.lines_read + 1, "-", f"corrupt gzip data: {exc}") from exc
        except GzipLimitExceeded as exc:
            raise FileRejected(self.lines_read + 1, "-", str(exc)) from exc

    def check_first_line(self, text: str) -> None:
        """Reject a whole JSON document (an array, or one pretty-printed object) on its first line."""
        if self.records_seen > 1:
            return
        start = text.strip()[:1]
        if start == "[":
            raise FileRejected(self.lines_read, "-", "the file is a JSON array, not JSON Lines (one object per line)")
        if text.strip() == "{":
            raise FileRejected(self.lines_read, "-", "the file is a pretty-printed JSON document, not JSON Lines")

    def __iter__(self) -> Iterator[Line]:
        loads = orjson.loads
        while True:
            data = self.read_line()
            if data == b"":
                return
            self.lines_read += 1
            number = self.lines_read
            if data is None:
                yield Line(number, error=RecordError("-", f"line longer than the {MAX_LINE_BYTES // 2**20} MB limit"))
                continue
            if number == 1 and data.startswith(UTF8_BOM):
                data = data[3:]
            if not data.strip():
                self.blank_lines += 1
                continue
            self.records_seen += 1
            if self.decoder is not None:
                try:
                    record = self.decoder(data)
                except DECODE_ERRORS:
                    record = None
                if record is not None:
                    yield Line(number, record=record, decoded=True)
                    continue
            try:
                record = loads(data)  # orjson checks UTF-8 itself
            except orjson.JSONDecodeError as first:
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError as bad:
                    reason = f"not valid UTF-8: byte 0x{data[bad.start]:02x} at column {bad.start + 1}"
                    yield Line(number, error=RecordError("-", reason))
                    continue
                self.check_first_line(text)
                message = str(first)
                try:  # parse again without the line break, so the message's position is within this line
                    loads(text.rstrip("\r\n"))
                except orjson.JSONDecodeError as again:
                    message = str(again).replace(": line 1 column", ": column")
                yield Line(number, error=RecordError("-", f"malformed JSON: {message}"))
                continue
            if type(record) is not dict:
                self.check_first_line(data.decode())
                what = "an array" if isinstance(record, list) else type(record).__name__
                yield Line(number, error=RecordError("-", f"expected a JSON object per line, got {what}"))
                continue
            yield Line(number, record=record)
