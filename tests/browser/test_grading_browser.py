"""Wellbeing by design, in a real browser: previews are blurred greyscale, the full item needs
a click, a revealed video plays muted, and the daily cap stops media display."""

from __future__ import annotations

import io
from fractions import Fraction

import pytest
from PIL import Image, ImageDraw

from hotline.db.engine import Database
from hotline.grading import service
from hotline.grading.media_store import MediaStore
from hotline.hashing import hash_bytes
from hotline.security import totp
from tests.conftest import StaffFactory

pytestmark = pytest.mark.browser


def benign_image() -> bytes:
    image = Image.new("RGB", (320, 240), (30, 120, 200))
    pen = ImageDraw.Draw(image)
    pen.rectangle((40, 40, 280, 200), fill=(250, 200, 40))
    pen.ellipse((120, 80, 200, 160), fill=(200, 30, 60))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def benign_video(frames: int = 10) -> bytes:
    """A few frames of a drawn colour gradient sliding across, with no sound track."""
    import av
    import numpy as np

    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        y, x = np.mgrid[0:64, 0:96]
        for i in range(frames):
            rgb = np.stack(
                [(x * 2 + i * 8) % 256, (y * 3 + i * 5) % 256, ((x + y) * 2) % 256], axis=-1
            ).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, 10)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def store_item(app, db: Database, data: bytes, kind: str) -> int:  # type: ignore[no-untyped-def]
    h = hash_bytes(data)
    with db.write() as session:
        item = service.register_media(
            session,
            url_id=None,
            source_url=f"https://gallery.example/a.{'mp4' if kind == 'video' else 'png'}",
            kind=kind,
            hashes=service.MediaHashesIn.of(h),
            byte_count=len(data),
            stored=True,
            purge_after=None,
        )
    store: MediaStore = app.state.media_store
    store.put(item.id, data)
    return item.id


@pytest.fixture
def stored_item(app, db: Database) -> int:  # type: ignore[no-untyped-def]
    return store_item(app, db, benign_image(), "image")


def sign_in_page(page, base: str, staff: StaffFactory, roles: list[str]) -> None:  # type: ignore[no-untyped-def]
    username, password, secret = staff.create(roles)
    page.goto(f"{base}/staff/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Six-digit code from your authenticator app").fill(totp.current_code(secret))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{base}/staff")


def test_blurred_until_revealed_then_capped(
    live_server: str,
    page,
    staff: StaffFactory,
    stored_item: int,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    sign_in_page(page, live_server, staff, ["analyst"])
    page.goto(f"{live_server}/staff/grading/{stored_item}")
    preview = page.locator("#blurred")
    assert preview.is_visible()
    assert page.locator("#revealed").count() == 0
    assert page.evaluate("() => document.getElementById('blurred').naturalWidth") > 0
    # What the browser received is small, greyscale and blurred.
    thumb = page.request.get(f"{live_server}/staff/media/{stored_item}/thumb")
    image = Image.open(io.BytesIO(thumb.body()))
    assert image.mode == "L" and max(image.size) <= 160
    # The full item is refused without the reveal step.
    assert page.request.get(f"{live_server}/staff/media/{stored_item}/full").status == 403

    page.get_by_role("button", name="Reveal this item").click()
    revealed = page.wait_for_selector("#revealed")
    assert revealed is not None and revealed.is_visible()
    assert page.evaluate("() => document.getElementById('revealed').naturalWidth") == 320

    # One more reveal's worth of viewing reaches the cap: display stops.
    settings.daily_view_cap_minutes = 1
    settings.reveal_seconds = 60
    page.goto(f"{live_server}/staff/grading/{stored_item}")
    page.get_by_role("button", name="Reveal this item").click()
    page.wait_for_selector("#display-off")  # this reveal was allowed; it used up the day
    page.goto(f"{live_server}/staff/grading/{stored_item}")
    assert page.locator("#display-off").is_visible()
    assert page.locator("#cap-reached").is_visible()
    assert page.locator("img").count() == 0
    assert page.request.get(f"{live_server}/staff/media/{stored_item}/thumb").status == 403
    page.goto(f"{live_server}/staff/wellbeing")
    assert int(page.locator("#exposure-minutes").inner_text().split()[0]) >= 1


def test_a_revealed_video_is_muted(
    live_server: str,
    page,  # type: ignore[no-untyped-def]
    staff: StaffFactory,
    app,  # type: ignore[no-untyped-def]
    db: Database,
) -> None:
    video = store_item(app, db, benign_video(), "video")
    sign_in_page(page, live_server, staff, ["analyst"])
    page.goto(f"{live_server}/staff/grading/{video}")
    assert page.locator("#blurred").is_visible()  # a blurred poster frame, not the video
    assert page.locator("video").count() == 0
    page.get_by_role("button", name="Reveal this item").click()
    page.wait_for_selector("video#revealed")
    state = page.evaluate(
        """() => { const v = document.getElementById('revealed');
                   return {muted: v.muted, defaultMuted: v.defaultMuted, autoplay: v.autoplay,
                           controls: v.controls}; }"""
    )
    assert state == {"muted": True, "defaultMuted": True, "autoplay": False, "controls": True}
