"""The analyst's and the senior's grading journeys of issue 14 in a real browser: an analyst opens
grading from the staff navigation, reveals an item (audited), grades it with the form and lands
on the next item, then on the empty list; a senior opens the grading review, decides a
disagreement between two graders and lands on the next one, then on the empty review. Every
assertion is on what the user sees: headings and the status line. Benign drawn images only."""

from __future__ import annotations

import io

import pytest
from fastapi import FastAPI
from PIL import Image, ImageDraw
from playwright.sync_api import expect
from sqlalchemy import select

from hotline.db.engine import Database
from hotline.grading import actions
from hotline.security import totp, users
from hotline.security.tables import AuditRow
from tests.conftest import StaffFactory
from tests.grading.helpers import store_media

pytestmark = pytest.mark.browser


def drawn_image(shade: int) -> bytes:
    """A benign drawing: coloured shapes, a different shade per item so the hashes differ."""
    image = Image.new("RGB", (240, 180), (shade, 140, 90))
    pen = ImageDraw.Draw(image)
    pen.rectangle((30, 30, 210, 150), fill=(240, 220, 60))
    pen.ellipse((90, 60, 150, 120), fill=(40, 90, shade))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def two_items(app: FastAPI, db: Database) -> list[int]:
    return [store_media(app, db, drawn_image(shade), "image", f"s{shade}") for shade in (20, 200)]


def sign_in(page, base: str, staff: StaffFactory, roles: list[str]) -> str:  # type: ignore[no-untyped-def]
    username, password, secret = staff.create(roles)
    page.goto(f"{base}/staff/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Six-digit code from your authenticator app").fill(totp.current_code(secret))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{base}/staff")
    return username


def heading(page) -> str:  # type: ignore[no-untyped-def]
    return str(page.get_by_role("heading", level=1).inner_text()).strip()


def expect_heading(page, text: str) -> None:  # type: ignore[no-untyped-def]
    expect(page.get_by_role("heading", level=1)).to_have_text(text)


def expect_recorded(page, item: int) -> None:  # type: ignore[no-untyped-def]
    """The status line of the page landed on after a grade (waits for that page)."""
    expect(page.locator("#grade-recorded")).to_contain_text(
        f"Your grade of item #{item} is recorded."
    )


def actions_of(db: Database, username: str) -> list[tuple[str, str]]:
    with db.read() as session:
        rows = session.execute(
            select(AuditRow.action, AuditRow.object_id)
            .where(AuditRow.actor == username)
            .order_by(AuditRow.seq)
        ).all()
    return [(action, str(object_id)) for action, object_id in rows]


def test_analyst_grades_and_lands_on_the_next_item(
    live_server: str,
    page,  # type: ignore[no-untyped-def]
    staff: StaffFactory,
    app: FastAPI,
    db: Database,
) -> None:
    first, second = sorted(two_items(app, db))
    analyst = sign_in(page, live_server, staff, ["analyst"])
    page.get_by_role("navigation", name="Staff areas").get_by_role("link", name="Grading").click()
    expect_heading(page, "Grading")
    assert "2 items waiting for your grade" in page.locator("#grading-count").inner_text()

    graded: list[int] = []
    page.get_by_role("link", name="Blurred preview of item", exact=False).first.click()
    for _ in range(2):
        expect(page.locator("#blurred")).to_be_visible()
        current = int(heading(page).split("#")[1])
        page.get_by_role("button", name="Reveal this item").click()
        assert page.wait_for_selector("#revealed") is not None
        page.get_by_label("Category C").check()
        page.get_by_label("Youngest apparent age").select_option(label="7 to 10 years")
        page.get_by_role("button", name="Submit grade").click()
        graded.append(current)
        expect_recorded(page, current)
        if len(graded) == 1:
            # The next item waiting opens by itself, and says so.
            (following,) = {first, second} - {current}
            expect_heading(page, f"Item #{following}")
            expect(page.locator("#grade-recorded")).to_contain_text(
                "This is the next item waiting for you."
            )
            expect(page.get_by_role("heading", name="Your grade")).to_be_visible()
    # Nothing left: the list says so.
    expect_heading(page, "Grading")
    expect(page.get_by_text("Nothing is waiting for your grade.")).to_be_visible()
    assert sorted(graded) == [first, second]

    trail = actions_of(db, analyst)
    for item in (first, second):
        assert ("media.reveal", str(item)) in trail
        assert ("media.grade", str(item)) in trail


def test_senior_resolves_disagreements_one_after_another(
    live_server: str,
    page,  # type: ignore[no-untyped-def]
    staff: StaffFactory,
    app: FastAPI,
    db: Database,
) -> None:
    items = sorted(two_items(app, db))
    with db.write() as session:
        graders = [
            users.create_user(session, name, "a long enough password", ["analyst"]).actor(
                mfa_passed=True
            )
            for name in ("grader-one", "grader-two")
        ]
    for item in items:  # two graders disagree on the category of each item
        for grader, category in zip(graders, ("B", "C"), strict=True):
            with db.write() as session:
                actions.submit_grade(
                    session,
                    grader,
                    item,
                    {"category": category, "age_band": "7-10"},
                    required=2,
                    qa_share=0,
                )

    senior = sign_in(page, live_server, staff, ["senior_analyst"])
    nav = page.get_by_role("navigation", name="Staff areas")
    nav.get_by_role("link", name="Grading review").click()
    expect_heading(page, "Grading review")
    waiting = page.locator("#disagreements").get_by_role("link")
    assert waiting.count() == 2

    decided: list[int] = []
    waiting.first.click()
    for _ in range(2):
        expect(page.get_by_role("heading", name="Resolve the disagreement")).to_be_visible()
        current = int(heading(page).split("#")[1])
        expect(page.get_by_role("table", name="Independent grades of this item")).to_be_visible()
        page.get_by_label("Category C").check()
        page.get_by_label("Youngest apparent age").select_option(label="7 to 10 years")
        page.get_by_role("button", name="Record the deciding grade").click()
        decided.append(current)
        expect_recorded(page, current)
        if len(decided) == 1:
            (following,) = set(items) - {current}
            expect_heading(page, f"Item #{following}")
    # The last decision lands on the review, which has nothing left.
    expect_heading(page, "Grading review")
    expect(page.get_by_text("No disagreements are waiting.")).to_be_visible()
    assert sorted(decided) == items
    trail = actions_of(db, senior)
    assert [o for a, o in trail if a == "media.resolve"] == [str(i) for i in decided]
