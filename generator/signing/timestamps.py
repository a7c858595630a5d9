"""RFC 3161 time-stamps for PAdES B-T: the server's address checked before anything is signed, a
time-stamper that gives up in bounded time, and why a server gave no time-stamp."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pyhanko.sign.timestamps import HTTPTimeStamper, TimestampRequestError


def timestamp_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a time-stamp server's address (None: it can be tried)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError as exc:
        return f"{url!r} is not a URL ({exc})"
    if parts.scheme.lower() not in ("http", "https"):
        return f"{url!r} is not an http:// or https:// URL"
    if not parts.hostname:
        return f"{url!r} names no server"
    return None


class _HTTPTimeStamper(HTTPTimeStamper):
    """pyHanko's RFC 3161 client; any failure to get a time-stamp is a
    :class:`TimestampRequestError` saying why."""

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> Any:
        try:
            return await super().async_timestamp(message_digest, md_algorithm)
        except Exception as exc:
            raise TimestampRequestError(_timestamp_reason(exc, self.timeout)) from exc


def _timestamp_reason(exc: BaseException, timeout: float) -> str:
    cause = exc.__cause__ or exc.__context__
    if isinstance(exc, TimeoutError) or isinstance(cause, TimeoutError):
        return f"no answer within {timeout:g} s"
    said = str(cause or "").strip()
    return f"{exc}: {said}" if said and said not in str(exc) else str(exc) or type(exc).__name__


def http_timestamper(url: str, timeout: float = 10.0) -> Any:
    """The RFC 3161 time-stamp client for ``--timestamp-url`` (PAdES B-T)."""
    return _HTTPTimeStamper(url, timeout=timeout)


def timestamp_failure(exc: BaseException) -> TimestampRequestError | None:
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        if isinstance(link, TimestampRequestError):
            return link
        seen.add(id(link))
        link = link.__cause__ or link.__context__
    return None
