"""Backup and restore of an instance with a lot of media, on SQLite: time and peak memory.

    .venv/bin/python bench/bench_backup.py --files 2000 --size-kb 100 [--encrypt]

Fills a scratch data directory with N sealed media files of random bytes (as the media store
writes them: opaque ciphertext) and a migrated SQLite database, then runs `hotline backup
create`, `check` and `restore` (into a second, empty data directory) each in a child
process, and prints wall time, MB/s and the child's peak RSS. The peak RSS stays flat as
the media grows: nothing is held in memory whole.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hotline.db import migrate
from hotline.db.engine import Database

SECRET = "bench-secret-" + "b" * 40
PASSPHRASE = "bench passphrase, not a real one"


def run(env: dict[str, str], *args: str) -> tuple[float, float]:
    """Wall seconds and this child's own peak RSS in MiB (os.wait4 gives its rusage)."""
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "hotline", *args], env=env,
                             stdout=subprocess.DEVNULL)  # fmt: skip
    _pid, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"hotline {' '.join(args)} exited {child.returncode}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--size-kb", type=int, default=100)
    parser.add_argument("--encrypt", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hotline-backup-bench-") as scratch:
        root = Path(scratch)
        source, target = root / "source", root / "target"
        db = Database(f"sqlite:///{source / 'hotline.db'}")
        migrate.upgrade(db)
        db.dispose()
        for n in range(args.files):
            path = source / "media" / f"{n // 1000:06d}" / f"{n}.sealed"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(os.urandom(args.size_kb * 1024))
        total_mb = args.files * args.size_kb / 1024
        base = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
        base |= {"HOTLINE_MODE": "development", "HOTLINE_SECRET_KEY": SECRET,
                 "HOTLINE_BACKUP_PASSPHRASE": PASSPHRASE}  # fmt: skip
        src_env = base | {"HOTLINE_DATA_DIR": str(source)}
        dst_env = base | {"HOTLINE_DATA_DIR": str(target)}
        out = root / "backup.hlbk"
        encrypt = ["--encrypt"] if args.encrypt else []
        print(f"{args.files} media files, {total_mb:.0f} MiB, encrypted={args.encrypt}")
        for name, env, argv in [
            ("create", src_env, ["backup", "create", "--out", str(out), *encrypt]),
            ("check", src_env, ["backup", "check", str(out)]),
            ("restore", dst_env, ["backup", "restore", str(out)]),
        ]:
            wall, peak = run(env, *argv)
            print(
                f"  {name:<8} {wall:6.2f} s  {total_mb / wall:7.1f} MiB/s  peak RSS {peak:6.0f} MiB"
            )
        print(f"  archive  {out.stat().st_size / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
