"""Wellbeing by design, in a real browser: previews are blurred greyscale, the full item needs
a click, a revealed video plays muted, and the daily cap stops media display."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw

from hotline.db.engine import Database
from hotline.security import totp
from tests.conftest import StaffFactory
from tests.grading.helpers import store_media
from tests.hashing.test_vpdq import moving_gradient_video

pytestmark = pytest.mark.browser


def benign_image() -> bytes:
    image = Image.new("RGB", (320, 240), (30, 120, 200))
    pen = ImageDraw.Draw(image)
    pen.rectangle((40, 40, 280, 200), fill=(250, 200, 40))
    pen.ellipse((120, 80, 200, 160), fill=(200, 30, 60))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def stored_item(app, db: Database) -> int:  # type: ignore[no-untyped-def]
    return store_media(app, db, benign_image(), "image")


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
    video = store_media(app, db, moving_gradient_video("mp4", "libx264", frames=10), "video")
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
