"""Benchmark a case set's export and its progress page's queries at scale.

    .venv/bin/python bench/bench_taskforce_export.py --rows 1000000 [--postgres URL]

Imports a CSV manifest of `--rows` random hashes (as bench_taskforce_import does) into a
throwaway database, marks every item known from one graded image (category B) and a tenth of
them graded (what the graded figure joins) by two UPDATEs, then times: `taskforce export` as
VICS and as CSV (every item written, its jurisdictions derived), and the case-set page's
aggregate queries (`throughput.set_progress`, `throughput.grader_figures`). Prints wall and CPU
seconds, items a second, the files' sizes, and the process's peak memory during each export
(Linux: VmHWM, reset before it; the export streams, so it does not grow with the set). The
machine is shared: the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import secrets
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text, update

from hotline.db import migrate
from hotline.db.engine import Database
from hotline.grading import service
from hotline.grading.model import parse_grade
from hotline.security import users
from hotline.security.audit_keys import chain_key_from, use_key
from hotline.security.permissions import Actor
from hotline.taskforce import actions, importer, throughput
from hotline.taskforce.model import Limits
from hotline.taskforce.tables import CaseItemRow

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_taskforce_import import write_manifest


def _reset_peak() -> None:
    """Linux: start this process's peak resident memory (VmHWM) again from its current size."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _peak() -> str:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return f"{int(line.split()[1]) / 1024:.0f} MiB"
    except OSError:
        pass
    return f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"


def _graded_image(db: Database) -> int:
    """One image two graders agreed on (B, 11-13): what every item is known from."""
    with db.write() as session:
        graders = [
            users.create_user(session, f"bench{i}", "a long enough password", ["analyst"]).id
            for i in (1, 2)
        ]
        media = service.register_media(
            session,
            url_id=None,
            source_url="https://gallery.example/drawn.png",
            kind="image",
            hashes=service.MediaHashesIn("0" * 32, "0" * 40, "0" * 64, None, None),
            byte_count=1,
            stored=False,
            purge_after=None,
        )
        for grader in graders:
            service.submit_grade(
                session,
                media.id,
                grader,
                parse_grade({"category": "B", "age_band": "11-13"}),
                required=2,
                qa_share=0,
            )
    return media.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--postgres", help="a PostgreSQL URL (a schema of its own is made)")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "manifest.csv"
        write_manifest(manifest, args.rows, 0.0)
        url = args.postgres or f"sqlite:///{Path(tmp) / 'bench.db'}"
        schema = None
        if args.postgres:
            schema = f"bench_export_{secrets.token_hex(4)}"
            admin = Database(url)
            with admin.write() as s:
                s.execute(text(f"CREATE SCHEMA {schema}"))
            admin.dispose()
            url += ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"
        db = Database(url)
        use_key(db, chain_key_from(b"bench-" + secrets.token_bytes(32)))
        migrate.upgrade(db)
        started = time.perf_counter()
        report = importer.import_sources(
            db,
            Actor.operator("bench"),
            "bench",
            [manifest],
            client=None,
            hash_only=True,
            options=importer.Options(Limits(10**7, 10**12, 10**9, 200)),
        )
        case_set_id = report.case_set.id
        media_id = _graded_image(db)
        with db.write() as session:
            session.execute(
                update(CaseItemRow)
                .where(CaseItemRow.case_set_id == case_set_id)
                .values(status="known", known_from=f"media:{media_id}", known_category="B"),
                execution_options={"synchronize_session": False},
            )
            # A tenth graded (confirmed members): what the graded figure joins.
            session.execute(
                update(CaseItemRow)
                .where(CaseItemRow.case_set_id == case_set_id, CaseItemRow.id % 10 == 0)
                .values(grade_state="confirmed"),
                execution_options={"synchronize_session": False},
            )
        backend = "postgresql" if args.postgres else "sqlite"
        print(
            f"{backend}: {report.case_set.items:,} items imported and marked known in "
            f"{time.perf_counter() - started:.1f} s; peak memory {_peak()}"
        )
        for fmt in ("vics", "csv"):
            out = Path(tmp) / f"export.{fmt}"
            _reset_peak()
            wall, cpu = time.perf_counter(), time.process_time()
            result = actions.export_case_set(db, Actor.operator("bench"), "bench", fmt, out)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            print(
                f"export {fmt}: {result.written:,} items, {result.bytes / 1e6:.0f} MB in "
                f"{wall:.1f} s wall, {cpu:.1f} s CPU ({result.written / wall:,.0f} items/s); "
                f"peak memory {_peak()}"
            )
        for name, query in (
            ("set_progress", throughput.set_progress),
            ("grader_figures", throughput.grader_figures),
        ):
            times = []
            for _ in range(3):
                with db.read() as session:
                    wall = time.perf_counter()
                    query(session, case_set_id)
                    times.append(time.perf_counter() - wall)
            print(f"{name}: best of 3 {min(times) * 1000:.0f} ms")
        db.dispose()
        if schema is not None:
            admin = Database(args.postgres)
            with admin.write() as s:
                s.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()
    print(f"load average at end:   {os.getloadavg()}")


if __name__ == "__main__":
    main()
