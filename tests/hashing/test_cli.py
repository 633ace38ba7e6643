"""`hotline hash` through a throwaway Typer app registered the way the lead registers it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from hotline.hashing.cli import collect_files, hash_command, hash_one

from .conftest import PDQ_DIR, VPDQ_DIR, encode, pdq_vectors, shapes_image

app = typer.Typer()
app.command("hash")(hash_command)


@app.command("version")
def _version() -> None:  # a second command, so "hash" is a subcommand as in the real CLI
    typer.echo("test")


runner = CliRunner()


def lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    (root / "nested" / "deeper").mkdir(parents=True)
    shutil.copy(PDQ_DIR / "bridge-mods/aaa-orig.jpg", root / "a.jpg")
    shutil.copy(PDQ_DIR / "pytx/LA.png", root / "nested" / "b.png")
    (root / "nested" / "deeper" / "c.webp").write_bytes(encode(shapes_image(80, 60), "WEBP"))
    return root


def test_hashes_a_folder_recursively(corpus: Path) -> None:
    result = runner.invoke(app, ["hash", str(corpus)])
    assert result.exit_code == 0, result.output
    records = lines(result.stdout)
    assert [Path(str(r["path"])).name for r in records] == ["a.jpg", "b.png", "c.webp"]
    expected = {p: (h, q) for p, h, q in pdq_vectors()}
    assert (records[0]["pdq"], records[0]["pdq_quality"]) == expected["bridge-mods/aaa-orig.jpg"]
    assert (records[1]["pdq"], records[1]["pdq_quality"]) == expected["pytx/LA.png"]
    assert set(records[0]) == {"path", "md5", "sha1", "sha256", "pdq", "pdq_quality"}


def test_video_output_shape(tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    shutil.copy(VPDQ_DIR / "pattern-sd-grey-bar.mp4", video)
    record = hash_one(str(video))
    assert set(record) == {"path", "md5", "sha1", "sha256", "vpdq"}
    frames = record["vpdq"]
    assert isinstance(frames, list) and len(frames) == 206
    assert set(frames[1]) == {"frame", "quality", "pdq", "timestamp"}
    assert frames[1]["frame"] == 1 and frames[1]["timestamp"] == 0.033


def test_failures_are_reported_and_exit_one(corpus: Path) -> None:
    (corpus / "notes.txt").write_text("not an image\n")
    (corpus / "empty.jpg").write_bytes(b"")
    (corpus / "cut.jpg").write_bytes((PDQ_DIR / "pytx/rgb.jpeg").read_bytes()[:500])
    result = runner.invoke(app, ["hash", str(corpus), "--no-progress"])
    assert result.exit_code == 1
    by_name = {Path(str(r["path"])).name: r for r in lines(result.stdout)}
    assert len(by_name) == 6
    assert str(by_name["notes.txt"]["error"]).startswith("unsupported_media: ")
    assert str(by_name["empty.jpg"]["error"]).startswith("empty_file: ")
    assert str(by_name["cut.jpg"]["error"]).startswith("corrupt_media: ")
    assert "pdq" in by_name["a.jpg"]


def test_unexpected_exceptions_become_records(monkeypatch: pytest.MonkeyPatch) -> None:
    from hotline.hashing import media

    def boom(path: str, max_pixels: int) -> None:
        raise RuntimeError("decoder exploded")

    monkeypatch.setattr(media, "hash_file", boom)
    record = hash_one("x.jpg")
    assert record == {"path": "x.jpg", "error": "internal_error: RuntimeError: decoder exploded"}


def test_missing_path_is_a_usage_error(corpus: Path) -> None:
    result = runner.invoke(app, ["hash", str(corpus), str(corpus / "nope.jpg")])
    assert result.exit_code == 2
    assert "no such file or folder" in result.stderr
    assert result.stdout == ""


def test_bad_option_is_a_usage_error(corpus: Path) -> None:
    assert runner.invoke(app, ["hash", str(corpus), "--jobs", "0"]).exit_code == 2
    assert runner.invoke(app, ["hash"]).exit_code == 2


def test_jobs_give_the_same_output_in_the_same_order(corpus: Path) -> None:
    for i in range(5):
        (corpus / f"extra{i}.png").write_bytes(encode(shapes_image(64, 48, seed=i), "PNG"))
    one = runner.invoke(app, ["hash", str(corpus), "--jobs", "1"])
    two = runner.invoke(app, ["hash", str(corpus), "-j", "2"])
    assert one.exit_code == two.exit_code == 0
    assert one.stdout == two.stdout
    assert len(lines(one.stdout)) == 8


def test_progress_goes_to_stderr_only_when_asked(corpus: Path) -> None:
    quiet = runner.invoke(app, ["hash", str(corpus)])
    assert quiet.stderr == ""  # CliRunner's stderr is not a terminal
    loud = runner.invoke(app, ["hash", str(corpus), "--progress"])
    assert "hashed 3/3 files, 0 failed" in loud.stderr
    assert loud.stdout == quiet.stdout


def test_help_text_comes_from_the_docstring() -> None:
    result = runner.invoke(app, ["hash", "--help"])
    assert result.exit_code == 0
    assert "Hash images and videos" in result.stdout
    assert "--jobs" in result.stdout


def test_default_pixel_limit_is_the_library_default() -> None:
    from hotline.hashing import DEFAULT_MAX_PIXELS, cli

    assert cli.DEFAULT_MAX_PIXELS == DEFAULT_MAX_PIXELS


def test_importing_the_command_does_not_load_the_hashers() -> None:
    code = "import sys, hotline.hashing.cli; print('numba' in sys.modules, 'av' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]


def test_collect_files_skips_nothing_and_sorts(corpus: Path) -> None:
    found = collect_files([corpus / "nested", corpus / "a.jpg"])
    assert [p.name for p in found] == ["b.png", "c.webp", "a.jpg"]


def test_runs_as_a_real_process(corpus: Path) -> None:
    # Exercises stdout buffering and the process pool outside CliRunner.
    script = (
        "import typer\n"
        "from hotline.hashing.cli import hash_command\n"
        "app = typer.Typer()\n"
        "app.command('hash')(hash_command)\n"
        "app.command('other')(lambda: None)\n"
        "app()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, "hash", str(corpus), "--jobs", "2"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert len(lines(done.stdout)) == 3
