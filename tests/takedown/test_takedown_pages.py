"""The takedown pages: a criminal verdict opens a case, an officer confirms it with a provider,
records removal, asks for a check now, clears a flag, and each decision confirms itself once
(flash); bad input is refused with nothing written, in the page's language; only takedown
officers get in; every view and decision is audited."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hotline.config import Settings
from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.jobs.tables import JobRow
from hotline.security.tables import AuditRow
from hotline.takedown import cases
from hotline.takedown.tables import HostingProviderRow, NoticeRow, TakedownCaseRow
from tests.conftest import StaffFactory, csrf_from, sign_in
from tests.jobs.drain import drain
from tests.takedown.cases_support import add_provider, case_row, criminal_url, set_case

URL = "https://files.example.org/gallery/9"


ROUTING = frozenset({"event", "takedown.open_case", "exchange.route_case"})


def audit_actions(db: Database, actor: str) -> list[str]:
    with db.read() as session:
        return list(
            session.scalars(
                select(AuditRow.action)
                .where(AuditRow.actor == actor, AuditRow.action.startswith("takedown."))
                .order_by(AuditRow.seq)
            )
        )


def notices(db: Database) -> int:
    with db.read() as session:
        return session.execute(select(func.count()).select_from(NoticeRow)).scalar_one()


def only_case(db: Database) -> int:
    with db.read() as session:
        return session.execute(select(TakedownCaseRow.id)).scalar_one()


def officer(app, staff: StaffFactory) -> tuple[TestClient, str]:  # type: ignore[no-untyped-def]
    client = TestClient(app)
    username, password, secret = staff.create(["takedown_officer"])
    sign_in(client, username, password, secret)
    return client, username


def test_only_takedown_officers_get_in(login_as) -> None:  # type: ignore[no-untyped-def]
    analyst = login_as(["analyst"])
    assert analyst.get("/staff/takedown").status_code == 403
    assert analyst.get("/staff/takedown/1").status_code == 403


def test_a_criminal_verdict_opens_a_case_that_an_officer_confirms(
    app, staff: StaffFactory, db: Database, settings: Settings
) -> None:  # type: ignore[no-untyped-def]
    provider = add_provider(db, settings)
    with TestClient(app) as analyst, TestClient(app) as public:
        for url in (URL, "https://example.com/fine"):
            public.post("/api/v1/reports", json={"url": url})
        staff.login(analyst, ["analyst"])
        token = csrf_from(analyst.get("/staff/queue").text)
        for decision in ("criminal/indecent_images", "not_criminal/adult_content"):
            location = analyst.post(
                "/staff/queue/claim-next", data={"csrf_token": token}, follow_redirects=False
            ).headers["location"]
            done = analyst.post(
                f"{location}/verdict",
                data={"csrf_token": token, "decision": decision},
                follow_redirects=False,
            )
            assert done.status_code == 303
    drain(db, settings, kinds=ROUTING)  # takedown and exchange react to the verdict
    case_id = only_case(db)  # the criminal verdict opened one case; the other none
    reference = case_row(db, case_id).reference

    client, username = officer(app, staff)
    with client:
        listing = client.get("/staff/takedown")
        assert listing.status_code == 200 and reference in listing.text
        assert URL in listing.text
        page = client.get(f"/staff/takedown/{case_id}")
        assert page.status_code == 200
        assert "Confirm and send" in page.text and f'value="{provider.id}"' in page.text
        sent = client.post(
            f"/staff/takedown/{case_id}/confirm",
            data={"csrf_token": csrf_from(page.text), "provider_id": str(provider.id)},
            follow_redirects=False,
        )
        assert sent.status_code == 303
        assert sent.headers["location"] == f"/staff/takedown/{case_id}"
        page = client.get(sent.headers["location"])
        assert "The notice is queued" in page.text and f"{reference}-N1" in page.text
        assert "The notice is queued" not in client.get(f"/staff/takedown/{case_id}").text
        notified = client.get("/staff/takedown?tab=notified")
        assert reference in notified.text
    case = case_row(db, case_id)
    assert case.state == "notified" and case.confirmed_by is not None
    assert notices(db) == 1
    assert audit_actions(db, username) == [
        "takedown.cases_viewed",
        "takedown.case_viewed",
        "takedown.case_confirmed",
        "takedown.case_viewed",
        "takedown.case_viewed",  # again: the confirmation is shown once
        "takedown.cases_viewed",
    ]


def test_bad_input_is_refused_and_nothing_is_written(
    app, staff: StaffFactory, db: Database, settings: Settings
) -> None:  # type: ignore[no-untyped-def]
    add_provider(db, settings)
    webhookless = add_provider(db, settings, "No Address", asns="64509")
    with db.write() as session:  # the directory refuses this; a row edited elsewhere may not
        row = session.get(HostingProviderRow, webhookless.id)
        assert row is not None
        row.abuse_email = None
    with db.write() as session:
        case_id = cases.propose(session, criminal_url(db, URL), settings)
    client, _ = officer(app, staff)
    with client:
        token = csrf_from(client.get(f"/staff/takedown/{case_id}").text)
        for value, says in (
            ("abc", "choose a provider"),
            ("999999", "no hosting provider has that id"),
            (str(webhookless.id), "has no email address"),
        ):
            bad = client.post(
                f"/staff/takedown/{case_id}/confirm",
                data={"csrf_token": token, "provider_id": value},
            )
            assert bad.status_code == 422 and says in bad.text
        future = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
        for at, note, says in (
            ("yesterday", "", "use YYYY-MM-DD HH:MM"),
            (future, "", "not in the future"),
            ("2001-01-01 00:00", "", "not before the address was first reported"),
            ("", "x" * 1001, "at most 1000 characters"),
        ):
            bad = client.post(
                f"/staff/takedown/{case_id}/removal",
                data={"csrf_token": token, "at": at, "note": note},
            )
            assert bad.status_code == 422 and says in bad.text
        assert client.get("/staff/takedown/999999").status_code == 404
        assert client.get("/staff/takedown?tab=lost").status_code == 422
        assert (
            client.post("/staff/takedown/999999/check", data={"csrf_token": token}).status_code
            == 404
        )
        assert (
            client.post(
                f"/staff/takedown/{case_id}/clear-flag", data={"csrf_token": token}
            ).status_code
            == 409
        )  # not flagged
    case = case_row(db, case_id)
    assert case.state == "proposed" and case.removed_at is None and notices(db) == 0


def test_check_now_manual_removal_and_flags(
    app, staff: StaffFactory, db: Database, settings: Settings
) -> None:  # type: ignore[no-untyped-def]
    with db.write() as session:
        case_id = cases.propose(session, criminal_url(db, URL), settings)
    assert case_id is not None
    set_case(
        db,
        case_id,
        flagged=True,
        flag_reason="notice TD-X-N1 bounced: user unknown",
        first_reported_at=utcnow() - timedelta(hours=2),
    )
    client, username = officer(app, staff)
    with client:
        flagged = client.get("/staff/takedown?tab=flagged")
        assert "bounced: user unknown" in flagged.text
        page = client.get(f"/staff/takedown/{case_id}")
        token = csrf_from(page.text)
        assert "Needs attention" in page.text
        cleared = client.post(
            f"/staff/takedown/{case_id}/clear-flag",
            data={"csrf_token": token},
            follow_redirects=False,
        )
        assert cleared.status_code == 303 and not case_row(db, case_id).flagged
        assert "Marked as dealt with." in client.get(cleared.headers["location"]).text

        checking = client.post(
            f"/staff/takedown/{case_id}/check", data={"csrf_token": token}, follow_redirects=False
        )
        assert checking.headers["location"] == f"/staff/takedown/{case_id}"
        assert "A re-check is queued" in client.get(checking.headers["location"]).text
        with db.read() as session:
            job = session.execute(
                select(JobRow).where(JobRow.kind == "takedown.recheck")
            ).scalar_one()
        assert job.dedupe_key == f"recheck:{case_id}" and job.state == "queued"

        removed_at = utcnow().replace(second=0, microsecond=0)
        done = client.post(
            f"/staff/takedown/{case_id}/removal",
            data={
                "csrf_token": token,
                "at": removed_at.strftime("%Y-%m-%dT%H:%M"),
                "note": "the host confirmed by phone",
            },
            follow_redirects=False,
        )
        assert done.status_code == 303
        page = client.get(done.headers["location"])
        assert "Removal recorded. Pending notices are cancelled." in page.text
        assert "recorded by an officer" in page.text and 'id="record-removal"' not in page.text
        assert 'id="clock-report">0 d 0' in page.text  # about two hours, as the form said
        assert "removed" in client.get("/staff/takedown?tab=removed").text.lower()
        again = client.post(
            f"/staff/takedown/{case_id}/removal", data={"csrf_token": token, "at": ""}
        )
        assert again.status_code == 409
        late = client.post(f"/staff/takedown/{case_id}/check", data={"csrf_token": token})
        assert late.status_code == 409
    case = case_row(db, case_id)
    assert (case.removed_at, case.removal_reason) == (removed_at, "manual")
    assert {
        "takedown.flag_cleared",
        "takedown.check_requested",
        "takedown.removal_recorded",
        "takedown.removal_note",
    } <= set(audit_actions(db, username))


def test_refusals_and_confirmations_speak_the_officers_language(
    app, staff: StaffFactory, db: Database, settings: Settings
) -> None:  # type: ignore[no-untyped-def]
    provider = add_provider(db, settings)
    mailless = add_provider(db, settings, "No Address", asns="64509")
    with db.write() as session:
        row = session.get(HostingProviderRow, mailless.id)
        assert row is not None
        row.abuse_email = None
    with db.write() as session:
        case_id = cases.propose(session, criminal_url(db, URL), settings)
    client, _ = officer(app, staff)
    client.headers["Accept-Language"] = "fr-FR,fr;q=0.9"
    with client:
        page = client.get(f"/staff/takedown/{case_id}")
        token = csrf_from(page.text)
        future = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
        for path, form, says, english in (
            ("confirm", {"provider_id": "abc"}, "choisissez un hébergeur", "choose a"),
            (
                "confirm",
                {"provider_id": "999999"},
                "aucun hébergeur ne porte cet identifiant",
                "no hosting",
            ),
            (
                "confirm",
                {"provider_id": str(mailless.id)},
                "No Address n’a pas d’adresse e-mail dans l’annuaire",
                "has no email address",
            ),
            ("removal", {"at": "yesterday"}, "utilisez AAAA-MM-JJ HH:MM (UTC)", "use YYYY"),
            ("removal", {"at": future}, "pas dans le futur", "not in the future"),
            ("removal", {"note": "x" * 1001}, "1000 caractères au plus", "at most"),
            ("clear-flag", {}, "ce dossier n’est pas signalé à traiter", "not flagged"),
        ):
            bad = client.post(
                f"/staff/takedown/{case_id}/{path}", data={"csrf_token": token, **form}
            )
            assert bad.status_code in (409, 422), (path, form)
            assert says in unescape(bad.text) and english not in bad.text, (path, form)
            assert 'role="alert"' in bad.text
        kept = client.post(
            f"/staff/takedown/{case_id}/removal",
            data={"csrf_token": token, "at": "yesterday", "note": "kept as typed"},
        )
        assert 'value="yesterday"' in kept.text and "kept as typed</textarea>" in kept.text
        assert 'id="at" name="at" type="text" maxlength="20" value="yesterday" aria-invalid' in (
            kept.text
        )
        missing = client.get("/staff/takedown/999999")
        assert missing.status_code == 404
        assert "aucun dossier de retrait ne porte cet identifiant" in unescape(missing.text)
        sent = client.post(
            f"/staff/takedown/{case_id}/confirm",
            data={"csrf_token": token, "provider_id": str(provider.id)},
        )
        assert sent.status_code == 200  # followed to the case page
        assert "La notification est en file d'attente" in unescape(sent.text)
        checking = client.post(f"/staff/takedown/{case_id}/check", data={"csrf_token": token})
        assert "Une nouvelle vérification est en file d'attente" in unescape(checking.text)
        removed = client.post(f"/staff/takedown/{case_id}/removal", data={"csrf_token": token})
        assert "Retrait enregistré." in unescape(removed.text)
        assert "enregistré par un agent" in removed.text  # the reason's code, in words
        assert 'class="notice-status">Annulé<' in removed.text  # the pending notice
        assert ">cancelled<" not in removed.text and ">manual<" not in removed.text
        again = client.post(f"/staff/takedown/{case_id}/removal", data={"csrf_token": token})
        assert again.status_code == 409
        assert "le retrait de ce dossier est déjà enregistré" in unescape(again.text)
        late = client.post(f"/staff/takedown/{case_id}/check", data={"csrf_token": token})
        assert "le contenu de ce dossier est déjà enregistré comme retiré" in unescape(late.text)
        hosts = client.get("/staff/hosts/999999")
        assert hosts.status_code == 404 and "cet hébergeur n’existe pas" in unescape(hosts.text)
