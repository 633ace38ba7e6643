"""The confirmation a dangerous form carries (a ticked box or a confirmation page's button,
`confirm=yes`), checked on the server so a POST without it (a stray click, a script) changes
nothing: the pages' one check."""

from __future__ import annotations

from starlette.datastructures import FormData

from hotline.errors import FieldError, InvalidInput


def require_confirmation(form: FormData, refused: str, field_message: str) -> None:
    """Raise InvalidInput (`refused`, with `field_message` on the field `confirm`) unless the
    form says confirm=yes. Both messages are message ids (N_)."""
    if form.get("confirm") != "yes":
        raise InvalidInput(refused, fields=[FieldError("confirm", field_message)])
