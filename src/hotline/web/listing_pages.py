"""The staff lists' page side (hotline.web.listing is the query side): show a list, or the
form again with what was typed and what is wrong with it; answer an export as streamed CSV.

Used by the queue, grading and host directory lists; their templates share the macros of
`_list_parts.html`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, StreamingResponse

from hotline.errors import InvalidInput
from hotline.web.templating import render


def list_page(
    request: Request,
    template: str,
    run: Callable[[dict[str, str]], Any],
    context: dict[str, Any] | None = None,
) -> HTMLResponse:
    """`run(params)` gives the page of the list; a refused query (InvalidInput) shows the form
    again, nothing listed, with a 422."""
    params = dict(request.query_params)
    shown: dict[str, Any] = {"values": params, "errors": {}, "message": None}
    try:
        page = run(params)
    except InvalidInput as exc:
        errors = {f.field: f.message for f in exc.fields}
        shown.update(page=None, errors=errors, message=exc.message)
        return render(request, template, (context or {}) | shown, status_code=422)
    return render(request, template, (context or {}) | shown | {"page": page})


def csv_response(lines: Iterator[str], filename: str) -> StreamingResponse:
    """Checked and audited CSV lines, streamed as a download."""
    return StreamingResponse(
        lines,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
