"""Confirmation messages after a staff action: POST, redirect, then one line on the next page.

`redirect_with_flash(request, url, key)` answers a form with a 303 and a short-lived, signed
cookie naming one entry of FLASH_MESSAGES; `render` shows that message once, in a
`role="status"` region, and clears the cookie. The cookie holds only the key (no names, no
personal data) and an HMAC of it, so nobody can make the page say something else.
"""

from __future__ import annotations

import hmac

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from hotline.config import Settings
from hotline.security.crypto import derive_key, hmac_hex
from hotline.web.deps import cookie_secure


def N_(message: str) -> str:
    """Mark a message for extraction; `render` translates it when it is shown."""
    return message


COOKIE_NAME = "hotline_flash"

# Every confirmation a staff page can show. Keys travel in the cookie, messages never do.
FLASH_MESSAGES: dict[str, str] = {
    "user.created": N_("Account added."),
    "user.roles_set": N_("Roles saved."),
    "user.password_reset": N_("Password reset. Give the new password to its holder in person."),
    "user.disabled": N_("Account disabled."),
    "user.enabled": N_("Account enabled."),
    "user.two_factor_reset": N_("Two-factor reset. The holder enrols again at their next sign-in."),
    "user.failures_cleared": N_("Failed sign-in count cleared."),
    "member.created": N_("Member added."),
    "member_key.revoked": N_("Key revoked. The next request with it is refused."),
    "list.created": N_("List created."),
    "list.released": N_("List released."),
    "list.signing_key_rotated": N_(
        "Signing key rotated. Earlier releases still verify with the retired key."
    ),
    "partner.added": N_("Partner hotline added."),
    "partner.enabled": N_("Partner hotline enabled."),
    "partner.disabled": N_("Partner hotline disabled."),
    "partner.key_set": N_("Partner key saved. Its next signed request is checked against it."),
    "exchange.key_rotated": N_(
        "Exchange key rotated. Give the new public key to every partner hotline."
    ),
    "list.configured": N_("List settings saved. The next release carries them."),
    "list.entries_withdrawn": N_(
        "Entries withdrawn. The next release's delta tells members to drop them."
    ),
    "feedback.upheld": N_("Feedback upheld."),
    "feedback.upheld_withdrawn": N_(
        "Feedback upheld and the entry withdrawn. It leaves in the next release's delta."
    ),
    "feedback.rejected": N_("Feedback rejected. The entry stays on the list."),
    "feed.fetch_requested": N_("Fetch requested. It starts within a minute."),
    "feed.enabled": N_("Feed enabled."),
    "feed.disabled": N_("Feed disabled. Its entries stay on the list."),
    # the assessment queue, wellbeing and the host directory
    "queue.claimed": N_("Claimed. The address is yours until the claim expires."),
    "queue.released": N_("Claim released. The address is back in the queue."),
    "queue.verdict_recorded": N_("Verdict recorded."),
    "queue.captured": N_("Capture finished. Its evidence and media are listed below."),
    "wellbeing.break_taken": N_("Break recorded. Take the time you need."),
    "wellbeing.blur_saved": N_("Blur strength saved."),
    "host.saved": N_("Saved."),
    "host.deleted": N_("The provider was deleted."),
    # the advice hub editor
    "advice.saved": N_("Saved."),
    "advice.added": N_("Added."),
    "advice.deleted": N_("Deleted."),
    "campaign.added": N_("Campaign added. Its page is public now."),
    "campaign.saved": N_("Campaign saved."),
    "campaign.video_added": N_("Video added and listed on the campaign's page."),
    "campaign.unpublished": N_(
        "Campaign unpublished. Its page is no longer public; publish it again to bring it back."
    ),
    "campaign.published": N_("Campaign published. Its page is public again."),
    "campaign.deleted": N_("Campaign deleted, with its page views."),
    # takedown cases
    "takedown.notice_queued": N_("The notice is queued; it goes out within a minute."),
    "takedown.check_queued": N_("A re-check is queued; its result appears below once it has run."),
    "takedown.removal_recorded": N_("Removal recorded. Pending notices are cancelled."),
    "takedown.flag_cleared": N_("Marked as dealt with."),
    # taskforce grading and its QA review
    "taskforce.claimed": N_("Cluster claimed. It is yours until the claim expires."),
    "taskforce.next_claimed": N_("Next cluster claimed."),
    "taskforce.graded": N_("Grade recorded."),
    "taskforce.confirmed": N_("Member confirmed with the representative's grade."),
    "taskforce.split": N_("Member split out into a cluster of its own."),
    "taskforce.undone": N_("Your last decision was undone."),
    "taskforce.released": N_("Cluster released. It is back among the clusters to grade."),
    "taskforce.qa_recorded": N_("QA review recorded."),
}


def _key(settings: Settings) -> bytes:
    return derive_key(settings.secret, "flash")


def _sign(settings: Settings, key: str) -> str:
    return f"{key}.{hmac_hex(_key(settings), key)}"


def redirect_with_flash(request: Request, url: str, key: str) -> RedirectResponse:
    """A 303 to `url` that shows FLASH_MESSAGES[key] on the page it lands on."""
    if key not in FLASH_MESSAGES:
        raise KeyError(f"no flash message {key!r}")
    settings: Settings = request.app.state.settings
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        COOKIE_NAME,
        _sign(settings, key),
        max_age=60,
        httponly=True,
        samesite="strict",
        secure=cookie_secure(request, settings),
    )
    return response


def pending(request: Request) -> str | None:
    """The message waiting for this request (untranslated), or None; a forged or unknown
    cookie shows nothing."""
    raw = request.cookies.get(COOKIE_NAME)
    if not raw or "." not in raw:
        return None
    key, _, mac = raw.rpartition(".")
    settings: Settings = request.app.state.settings
    expected = hmac_hex(_key(settings), key)
    if key not in FLASH_MESSAGES or not hmac.compare_digest(mac, expected):
        return None
    return FLASH_MESSAGES[key]


def clear(request: Request, response: Response) -> None:
    """Drop the cookie once its message has been shown (or found forged)."""
    if COOKIE_NAME in request.cookies:
        response.delete_cookie(COOKIE_NAME)
