"""The e-mails a volunteer gets from the register itself (a call-out's own mails are the
notifier's): the confirmation link, the link to their own page, and the reminder before an
inactive registration is deleted. Dutch, or English for `lang` "en"."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

_TEXTS = {
    "confirm": {
        "nl": (
            "Bevestig je aanmelding als vrijwilliger",
            "Hallo {name},\n\nJe hebt je aangemeld als vrijwilliger bij Stadspuls. Bevestig je "
            "e-mailadres met deze link (hij werkt {hours} uur):\n\n{link}\n\nHeb je je niet "
            "aangemeld? Dan hoef je niets te doen: zonder bevestiging wissen we alles.\n",
        ),
        "en": (
            "Confirm your registration as a volunteer",
            "Hello {name},\n\nYou registered as a volunteer with Stadspuls. Confirm your e-mail "
            "address with this link (it works for {hours} hours):\n\n{link}\n\nDid you not "
            "register? Then do nothing: without confirmation we delete everything.\n",
        ),
    },
    "manage": {
        "nl": (
            "Je eigen pagina als vrijwilliger",
            "Hallo {name},\n\nMet deze link zie en wijzig je je gegevens, pauzeer je, of meld "
            "je je af (dan wissen we alles). De link werkt {days} dagen:\n\n{link}\n",
        ),
        "en": (
            "Your own page as a volunteer",
            "Hello {name},\n\nWith this link you see and change your details, pause, or leave "
            "(we then delete everything). The link works for {days} days:\n\n{link}\n",
        ),
    },
    "reminder": {
        "nl": (
            "Wil je vrijwilliger blijven?",
            "Hallo {name},\n\nWe hebben al lang niets van je gehoord. Wil je vrijwilliger "
            "blijven? Open dan binnen {days} dagen je eigen pagina:\n\n{link}\n\nAnders wissen "
            "we je gegevens; je hoeft daarvoor niets te doen.\n",
        ),
        "en": (
            "Do you want to stay a volunteer?",
            "Hello {name},\n\nWe have not heard from you for a long time. Do you want to stay a "
            "volunteer? Then open your own page within {days} days:\n\n{link}\n\nOtherwise we "
            "delete your details; you need not do anything for that.\n",
        ),
    },
}


def compose(
    kind: str, *, to: str, sender: str, lang: str, name: str, link: str, **numbers: int
) -> EmailMessage:
    subject, body = _TEXTS[kind]["en" if lang == "en" else "nl"]
    message = EmailMessage()
    message["Subject"] = f"[Stadspuls] {subject}"
    message["From"] = sender
    message["To"] = to
    message["Message-ID"] = make_msgid("stadspuls.volunteer")
    message.set_content(body.format(name=name, link=link, **numbers))
    return message
