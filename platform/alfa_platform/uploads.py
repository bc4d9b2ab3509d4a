"""Upload limits shared by every app: the request-size cap (413) and gzip inflated within bounds.

A gzip bomb (a few KB that inflate to gigabytes) never sits in memory: BoundedGzipReader inflates as it is read and
stops with GzipLimitExceeded past settings.ALFA_GZIP_MAX_BYTES or a compression ratio over ALFA_GZIP_MAX_RATIO.
"""

import gzip
import zlib
from collections.abc import Callable
from typing import BinaryIO

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

GZIP_MAGIC = b"\x1f\x8b"
# A truncated or corrupt stream: what gzip raises mid-file.
GZIP_ERRORS = (gzip.BadGzipFile, EOFError, zlib.error)


def megabytes(count: int) -> str:
    return f"{count / 2**20:,.0f} MB" if count >= 2**20 else f"{count:,} bytes"


class GzipLimitExceeded(ValueError):
    """The gzip stream inflates past the configured size or ratio: refused as a likely gzip bomb."""


class BoundedGzipReader:
    """Read a gzip stream (readline/read), counting inflated bytes against the size and ratio caps.

    The ratio is inflated bytes over compressed bytes consumed so far, checked once `ratio_after` bytes are out.
    """

    def __init__(self, raw: BinaryIO, *, max_bytes: int | None = None, max_ratio: int | None = None,
                 ratio_after: int | None = None) -> None:
        self.raw = raw
        self.start = raw.tell()
        self.stream = gzip.GzipFile(fileobj=raw, mode="rb")
        self.max_bytes = settings.ALFA_GZIP_MAX_BYTES if max_bytes is None else max_bytes
        self.max_ratio = settings.ALFA_GZIP_MAX_RATIO if max_ratio is None else max_ratio
        self.ratio_after = settings.ALFA_GZIP_RATIO_AFTER_BYTES if ratio_after is None else ratio_after
        self.inflated = 0

    def _count(self, data: bytes) -> bytes:
        self.inflated += len(data)
        if self.inflated > self.max_bytes:
            raise GzipLimitExceeded(
                f"gzip data inflates past the {megabytes(self.max_bytes)} limit (ALFA_GZIP_MAX_BYTES); "
                "refused as a likely gzip bomb"
            )
        if self.inflated > self.ratio_after:
            ratio = self.inflated / max(1, self.raw.tell() - self.start)
            if ratio > self.max_ratio:
                raise GzipLimitExceeded(
                    f"gzip data inflates {ratio:,.0f} times its compressed size, over the {self.max_ratio}:1 limit "
                    "(ALFA_GZIP_MAX_RATIO); refused as a likely gzip bomb"
                )
        return data

    def readline(self, limit: int = -1) -> bytes:
        return self._count(self.stream.readline(limit))

    def read(self, size: int = -1) -> bytes:
        if size is not None and size >= 0:
            return self._count(self.stream.read(size))
        chunks = []
        while chunk := self.read(1 << 20):  # whole stream: still counted chunk by chunk
            chunks.append(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        self.stream.close()


def too_large_message() -> str:
    return (
        f"The upload is larger than the {megabytes(settings.ALFA_UPLOAD_MAX_BYTES)} limit (ALFA_UPLOAD_MAX_BYTES); "
        "split the file or compress it with gzip."
    )


def too_large_response(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": too_large_message()}, status=413)
    return render(request, "alfa_platform/upload_too_large.html", {"message": too_large_message()}, status=413)


class UploadLimitMiddleware:
    """Answer 413 to a request whose declared body exceeds ALFA_UPLOAD_MAX_BYTES, before any of it is read.

    WSGI servers read no more than Content-Length, so a body without one is empty: the header is the whole check.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.ALFA_UPLOAD_MAX_BYTES:
            return too_large_response(request)
        return self.get_response(request)
