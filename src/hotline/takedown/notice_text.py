"""The words of a notice to a host: an email, or the JSON of a signed webhook.

A notice says that it is a notice under the legal basis, and gives the web address, when it
was first seen (UTC), the UK category and the references, and how to reply. It never carries
the content, an image, or any description of it beyond the legal category.

The text is held here per language (a notice is read by the host, in the provider's language,
whatever language the staff pages are in); languages without a text get English.
"""

from __future__ import annotations

import json
import secrets
import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

FALLBACK_LANGUAGE = "en"


@dataclass(frozen=True)
class NoticeContent:
    reference: str  # the notice's own reference
    case_reference: str
    kind: str  # "notice" or "reminder"
    reminder_number: int  # 0 for the notice itself
    url: str
    first_seen_at: datetime
    legal_basis: str
    category: str | None  # UK category A, B or C; None when not recorded
    organisation: str
    language: str


@dataclass(frozen=True)
class _Text:
    subject_notice: str
    subject_reminder: str
    title: str
    opening_notice: str
    opening_reminder: str
    finding: str
    facts: tuple[str, str, str, str, str]  # address, first seen, category, ours, case
    category: str
    no_category: str
    no_content: str
    reply: str
    reply_webhook: str


_TEXTS: dict[str, _Text] = {
    "en": _Text(
        subject_notice="[{case_reference}] Notice of illegal content on your service ({reference})",
        subject_reminder="[{case_reference}] Reminder {number}: illegal content on your service "
        "({reference})",
        title="{organisation}: notice of illegal content",
        opening_notice="This is a notice under {legal_basis}.",
        opening_reminder="This is reminder {number} of our notice about the web address below, "
        "under {legal_basis}. As far as we can tell, the content is still available.",
        finding="{organisation}, an internet hotline, has assessed the web address below and "
        "found that it gives access to indecent images of children (child sexual abuse "
        "material), which it is illegal to host or distribute. Please remove the content, or "
        "disable access to it, without delay.",
        facts=(
            "Web address",
            "First seen",
            "Category",
            "Our reference",
            "Case reference",
        ),
        category="{category} (UK legal classification of indecent images of children: A, B or C)",
        no_category="not recorded",
        no_content="This notice deliberately contains no image and no description of the "
        "content. Do not copy the material except as the law allows in order to remove it, and "
        "keep any records that law enforcement may ask for.",
        reply="How to reply: reply to this message, keeping the reference {reference} in the "
        "subject, to tell us that the content has been removed or to ask a question. We check "
        "the address again after this notice and send reminders until it is removed.",
        reply_webhook="How to reply: tell {organisation} that the content has been removed, or "
        "ask a question, quoting the reference {reference}. We check the address again after "
        "this notice and send reminders until it is removed.",
    ),
    "fr": _Text(
        subject_notice="[{case_reference}] Signalement de contenu illicite sur votre service "
        "({reference})",
        subject_reminder="[{case_reference}] Rappel n° {number} : contenu illicite sur votre "
        "service ({reference})",
        title="{organisation} : signalement de contenu illicite",
        opening_notice="Ceci est un signalement au titre de : {legal_basis}.",
        opening_reminder="Ceci est le rappel n° {number} de notre signalement concernant "
        "l'adresse web ci-dessous, au titre de : {legal_basis}. D'après nos vérifications, le "
        "contenu est toujours accessible.",
        finding="{organisation}, une hotline de signalement en ligne, a examiné l'adresse web "
        "ci-dessous et constaté qu'elle donne accès à des images indécentes d'enfants (contenus "
        "d'abus sexuels sur enfants), dont l'hébergement et la diffusion sont illégaux. Nous "
        "vous demandons de retirer ce contenu, ou d'en bloquer l'accès, sans délai.",
        facts=(
            "Adresse web",
            "Vue pour la première fois",
            "Catégorie",
            "Notre référence",
            "Référence du dossier",
        ),
        category="{category} (classification légale britannique des images indécentes "
        "d'enfants : A, B ou C)",
        no_category="non précisée",
        no_content="Ce signalement ne contient volontairement aucune image ni aucune "
        "description du contenu. Ne copiez pas ce contenu, sauf dans la mesure où la loi le "
        "permet pour le retirer, et conservez les traces que les forces de l'ordre pourraient "
        "demander.",
        reply="Comment répondre : répondez à ce message, en gardant la référence {reference} "
        "dans l'objet, pour nous indiquer que le contenu a été retiré ou pour poser une "
        "question. Nous vérifions de nouveau l'adresse après ce signalement et envoyons des "
        "rappels jusqu'à son retrait.",
        reply_webhook="Comment répondre : indiquez à {organisation} que le contenu a été "
        "retiré, ou posez votre question, en citant la référence {reference}. Nous vérifions de "
        "nouveau l'adresse après ce signalement et envoyons des rappels jusqu'à son retrait.",
    ),
}


def _text_for(language: str) -> tuple[str, _Text]:
    code = language if language in _TEXTS else FALLBACK_LANGUAGE
    return code, _TEXTS[code]


def first_seen(content: NoticeContent) -> str:
    """UTC, ISO 8601, to the second: '2024-05-01T09:30:00Z'."""
    moment = content.first_seen_at.astimezone(UTC).replace(microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")


def subject(content: NoticeContent) -> str:
    _, text = _text_for(content.language)
    template = text.subject_reminder if content.kind == "reminder" else text.subject_notice
    return template.format(
        case_reference=content.case_reference,
        reference=content.reference,
        number=content.reminder_number,
    )


def body(content: NoticeContent, *, by_email: bool = True) -> str:
    """The plain-text notice, in the provider's language (English if there is no text)."""
    _, text = _text_for(content.language)
    values = {
        "organisation": content.organisation,
        "legal_basis": content.legal_basis,
        "reference": content.reference,
        "number": content.reminder_number,
    }
    opening = text.opening_reminder if content.kind == "reminder" else text.opening_notice
    category = (
        text.category.format(category=content.category) if content.category else text.no_category
    )
    facts = zip(
        text.facts,
        (
            content.url,
            f"{first_seen(content)} (UTC)",
            category,
            content.reference,
            content.case_reference,
        ),
        strict=True,
    )
    width = max(len(label) for label in text.facts) + 2
    paragraphs = [
        text.title.format(**values),
        opening.format(**values),
        text.finding.format(**values),
        "\n".join(f"{label + ':':<{width}}{value}" for label, value in facts),
        text.no_content,
        (text.reply if by_email else text.reply_webhook).format(**values),
    ]
    # Prose is wrapped for mail readers; the facts block is left as it is (URLs must not break).
    wrapped = [p if i == 3 else textwrap.fill(p, 72) for i, p in enumerate(paragraphs)]
    return "\n\n".join(wrapped) + "\n"


def email_message(content: NoticeContent, *, sender: str, recipient: str) -> EmailMessage:
    """The notice as an email. Its Message-ID is how a bounce is matched to the notice."""
    language, _ = _text_for(content.language)
    domain = sender.rpartition("@")[2] or "localhost"  # never ask DNS for this host's name
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject(content)
    message["Date"] = format_datetime(datetime.now(UTC))
    # Short enough never to be folded: bounces quote it, and matching must be exact.
    message["Message-ID"] = f"<{content.reference}.{secrets.token_hex(8)}@{domain}>"
    message["X-Hotline-Reference"] = content.reference
    message["X-Hotline-Case"] = content.case_reference
    message.set_content(body(content), charset="utf-8")
    message["Content-Language"] = language  # after set_content, which clears Content-*
    return message


def webhook_body(content: NoticeContent) -> bytes:
    """The notice as JSON: the facts as fields, and the same text an email would carry."""
    language, _ = _text_for(content.language)
    document = {
        "type": f"hotline.takedown.{'reminder' if content.kind == 'reminder' else 'notice'}",
        "reference": content.reference,
        "case_reference": content.case_reference,
        "reminder_number": content.reminder_number,
        "url": content.url,
        "first_seen_at": first_seen(content),
        "legal_basis": content.legal_basis,
        "category": content.category,
        "organisation": content.organisation,
        "language": language,
        "subject": subject(content),
        "text": body(content, by_email=False),
    }
    return json.dumps(document, ensure_ascii=False, sort_keys=True).encode()
