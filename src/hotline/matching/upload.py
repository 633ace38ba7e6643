"""Read one uploaded file from a multipart/form-data body into memory, under a size cap.

Starlette's `request.form()` spools any file over 1 MiB to a temporary file on disk; member
uploads must never touch disk, so the body is parsed here, as it streams, with
python-multipart's push parser, and the file part is kept in a bytearray.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from hotline.errors import N_, AppError, FieldError, InvalidInput, PayloadTooLarge

FILE_FIELD = "file"
# Room for the multipart boundaries and part headers around the file itself.
_ENVELOPE_BYTES = 64 * 1024


class MalformedUpload(AppError):
    code = "malformed_body"
    status = 400


class _Parts:
    """Callbacks for the push parser: collect the `file` part, refuse anything else."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.file: bytearray | None = None
        self.files = 0
        self.other: list[str] = []
        self.too_large = False
        self.ended = False
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, bytes] = {}
        self._target: bytearray | None = None

    def on_part_begin(self) -> None:
        self._headers = {}
        self._target = None

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[bytes(self._header_name).decode("latin-1").lower()] = bytes(
            self._header_value
        )
        self._header_name.clear()
        self._header_value.clear()

    def on_headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get("content-disposition", b""))
        name = params.get(b"name", b"").decode("latin-1")
        if name == FILE_FIELD:
            self.files += 1
            self.file = self._target = bytearray()
        else:
            self.other.append(name or "(unnamed)")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._target is None:
            return
        if len(self._target) + (end - start) > self.limit:
            self.too_large = True
            return
        self._target += data[start:end]

    def on_end(self) -> None:
        self.ended = True


async def read_file_part(content_type: str, body: AsyncIterator[bytes], limit: int) -> bytes:
    """The bytes of the single `file` part; 413 past `limit`, 4xx for any other problem."""
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise MalformedUpload(N_("the multipart body has no boundary in its Content-Type"))
    parts = _Parts(limit)
    try:
        parser = MultipartParser(
            boundary,
            {
                "on_part_begin": parts.on_part_begin,
                "on_header_field": parts.on_header_field,
                "on_header_value": parts.on_header_value,
                "on_header_end": parts.on_header_end,
                "on_headers_finished": parts.on_headers_finished,
                "on_part_data": parts.on_part_data,
                "on_end": parts.on_end,
            },
        )
        received = 0
        async for chunk in body:
            received += len(chunk)
            if parts.too_large or received > limit + _ENVELOPE_BYTES:
                raise PayloadTooLarge(N_("an upload must be at most %(limit)s bytes", limit=limit))
            parser.write(chunk)
        parser.finalize()
    except FormParserError as exc:
        raise MalformedUpload(N_("the multipart body could not be parsed")) from exc
    if parts.too_large:
        raise PayloadTooLarge(N_("an upload must be at most %(limit)s bytes", limit=limit))
    if not parts.ended:
        raise MalformedUpload(N_("the multipart body ended early"))
    if parts.other:
        raise InvalidInput(
            N_("send only the '%(file_field)s' field", file_field=FILE_FIELD),
            fields=[FieldError(name, N_("unknown field")) for name in parts.other[:20]],
        )
    if parts.files != 1 or parts.file is None:
        raise InvalidInput(
            N_("send exactly one file in the '%(file_field)s' field", file_field=FILE_FIELD),
            fields=[FieldError(FILE_FIELD, "missing" if not parts.files else "more than one")],
        )
    return bytes(parts.file)
