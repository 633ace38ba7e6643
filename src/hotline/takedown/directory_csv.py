"""The directory as CSV: export every entry, import (all rows or none) with upsert by name.

Columns: name, asns, countries, abuse_email, webhook_url, channel, language, notes; AS
numbers and country codes are separated by spaces inside their cells. Webhook secrets are
neither exported nor imported: an existing entry keeps its secret, and a new entry cannot
arrive as a webhook provider (it needs a secret, entered in the pages).

Rows are numbered as a spreadsheet numbers them: the header is row 1. Cells that a
spreadsheet would run as a formula (=, +, -, @ first) are exported with a leading ' and
read back without it, so a round trip changes nothing and opening the file runs nothing.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.db.base import utcnow
from hotline.errors import N_
from hotline.security import audit
from hotline.takedown.directory import OBJECT, apply, audit_detail, list_providers
from hotline.takedown.provider_rules import (
    DirectoryInvalid,
    Problem,
    ProviderInput,
    asn_clashes,
    check,
)
from hotline.takedown.tables import HostingProviderRow

COLUMNS = (
    "name",
    "asns",
    "countries",
    "abuse_email",
    "webhook_url",
    "channel",
    "language",
    "notes",
)
MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 10_000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
HELP = (
    "Columns: name, asns, countries, abuse_email, webhook_url, channel, language, notes "
    "(AS numbers and country codes separated by spaces). Rows are matched to existing "
    "providers by name, case ignored: a matching row updates the provider, any other row adds "
    "one. If any row has a problem, nothing is imported. Webhook secrets are not exported or "
    "imported: existing providers keep theirs, and a new webhook provider must be created in "
    "the pages (or imported with channel email and given its webhook afterwards)."
)


@dataclass(frozen=True)
class ImportResult:
    created: tuple[str, ...]
    updated: tuple[str, ...]


def _escape(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def _unescape(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(_FORMULA_START) else cell


def export_csv(session: Session, actor: str) -> str:
    """Every entry as CSV text (audited)."""
    entries = list_providers(session)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for entry in entries:
        p = entry.provider
        cells = [
            p.name,
            " ".join(str(a) for a in p.asns),
            " ".join(p.countries),
            p.abuse_email or "",
            p.webhook_url or "",
            p.channel.value,
            p.language,
            p.notes or "",
        ]
        writer.writerow([_escape(c) for c in cells])
    audit.record(session, actor, "hosting_provider.exported", OBJECT, "*", {"count": len(entries)})
    return out.getvalue()


def _invalid(problems: list[Problem]) -> DirectoryInvalid:
    return DirectoryInvalid(
        N_("nothing was imported: %(count)s problem(s)", count=len(problems)), problems
    )


def read_rows(data: bytes) -> list[tuple[int, dict[str, str]]]:
    """The file's rows as (row number, column -> cell); DirectoryInvalid for a file that is
    not UTF-8 CSV with exactly the expected columns."""
    if len(data) > MAX_BYTES:
        raise _invalid([Problem("file", N_("The file is larger than 2 MiB."))])
    try:
        text = data.decode("utf-8-sig")  # spreadsheets often write a byte-order mark
        table = list(csv.reader(io.StringIO(text, newline="")))
    except (UnicodeDecodeError, csv.Error):
        raise _invalid([Problem("file", N_("The file is not UTF-8 CSV text."))]) from None
    if not table:
        raise _invalid([Problem("file", N_("The file is empty: it has no header row."))])
    header = [h.strip().lower() for h in table[0]]
    if "webhook_secret" in header:
        message = N_(
            "Webhook secrets are not imported: remove the webhook_secret column and enter "
            "secrets in the directory pages."
        )
        raise _invalid([Problem("webhook_secret", message, row=1)])
    if len(header) != len(COLUMNS) or set(header) != set(COLUMNS):
        message = N_("The first row must name exactly these columns: %(columns)s.")
        raise _invalid([Problem("", message, {"columns": ", ".join(COLUMNS)}, row=1)])
    if len(table) - 1 > MAX_ROWS:
        raise _invalid([Problem("file", N_("The file has more than 10000 rows."))])
    rows: list[tuple[int, dict[str, str]]] = []
    problems: list[Problem] = []
    for number, cells in enumerate(table[1:], start=2):
        if not any(c.strip() for c in cells):
            continue  # blank lines, e.g. at the end of a hand-edited file
        if len(cells) != len(header):
            message = N_("This row has %(found)s cells; the header has %(expected)s.")
            params = {"found": len(cells), "expected": len(header)}
            problems.append(Problem("", message, params, row=number))
            continue
        rows.append((number, {h: _unescape(c) for h, c in zip(header, cells, strict=True)}))
    if problems:
        raise _invalid(problems)
    return rows


def import_csv(session: Session, data: bytes, actor: str) -> ImportResult:
    """Check every row, then upsert all of them by name, or raise DirectoryInvalid naming
    each bad row and column and change nothing."""
    rows = read_rows(data)
    existing = {r.name.lower(): r for r in session.execute(select(HostingProviderRow)).scalars()}
    problems: list[Problem] = []
    parsed: list[tuple[int, ProviderInput]] = []
    seen: dict[str, int] = {}
    for number, values in rows:
        key = values["name"].strip().lower()
        stored = existing.get(key)
        has_secret = stored is not None and stored.webhook_secret_sealed is not None
        entry, found = check({**values, "webhook_secret": ""}, secret_stored=has_secret, row=number)
        problems.extend(_for_import(p) for p in found)
        if key and key in seen:
            message = N_("This name is also on row %(other_row)s.")
            problems.append(Problem("name", message, {"other_row": seen[key]}, row=number))
        seen.setdefault(key, number)
        if entry is not None:
            parsed.append((number, entry))
    problems.extend(_clashes(existing, parsed))
    if problems:
        raise _invalid(sorted(problems, key=_order))
    return _store(session, existing, [entry for _, entry in parsed], actor)


def _order(problem: Problem) -> tuple[int, int]:
    column = COLUMNS.index(problem.field) if problem.field in COLUMNS else -1
    return (problem.row or 0, column)


def _for_import(problem: Problem) -> Problem:
    if problem.field != "webhook_secret":
        return problem
    message = N_(
        "A webhook provider needs a secret, and secrets are not imported: import it with "
        "channel email, then set its webhook and secret in the directory pages."
    )
    return Problem("channel", message, row=problem.row)


def _clashes(
    existing: dict[str, HostingProviderRow], parsed: list[tuple[int, ProviderInput]]
) -> list[Problem]:
    """AS numbers claimed twice in the directory as it would be after the import."""
    incoming = {entry.name.lower(): (number, entry) for number, entry in parsed}
    final = [
        (row.name, tuple(int(a) for a in row.asns.split(",") if a))
        for key, row in existing.items()
        if key not in incoming
    ]
    final += [(entry.name, entry.asns) for _, entry in incoming.values()]
    problems = []
    for (name, asn), other in sorted(asn_clashes(final).items()):
        number = incoming[name.lower()][0] if name.lower() in incoming else None
        message = N_("AS%(asn)s is already listed for %(provider)s.")
        problems.append(Problem("asns", message, {"asn": asn, "provider": other}, row=number))
    return problems


def _store(
    session: Session,
    existing: dict[str, HostingProviderRow],
    entries: list[ProviderInput],
    actor: str,
) -> ImportResult:
    now = utcnow()
    created: list[str] = []
    updated: list[str] = []
    for entry in entries:
        row = existing.get(entry.name.lower())
        action = "hosting_provider.updated"
        if row is None:
            row = HostingProviderRow(created_at=now)
            session.add(row)
            action = "hosting_provider.created"
        apply(row, entry, None, now)
        session.flush()
        (updated if action.endswith("updated") else created).append(entry.name)
        detail = {**audit_detail(entry), "via": "csv_import"}
        audit.record(session, actor, action, OBJECT, row.id, detail)
    summary = {"created": len(created), "updated": len(updated), "names": (created + updated)}
    audit.record(session, actor, "hosting_provider.imported", OBJECT, "*", summary)
    return ImportResult(tuple(created), tuple(updated))
