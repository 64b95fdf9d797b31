"""Opening an answer link without answering: the answer page shows the call-out and asks to
confirm (a GET records nothing, since mail scanners and link previews follow links). The link
is the proof, as for answering: no actor."""

from __future__ import annotations

import msgspec

from stadspuls.service.errors import NotFound
from stadspuls.store import callouts as store
from stadspuls.volunteers import answer_links
from stadspuls.volunteers.callouts import CallOutService
from stadspuls.volunteers.errors import BadLink
from stadspuls.volunteers.records import CallOut, Target


class OpenedAnswer(msgspec.Struct, frozen=True, kw_only=True):
    answer: str  # what the link would record
    target: Target
    callout: CallOut


def open_answer(service: CallOutService, token: str) -> OpenedAnswer:
    """The answer, target and call-out of a genuine, unexpired link; BadLink otherwise."""
    target_id, answer = answer_links.open_token(service.signer, token, service.clock())
    with service.engine.connect() as conn:
        target = store.target(conn, target_id)
    try:
        if target is None:
            raise NotFound("no such target")
        callout = service.callout_of(target)
    except NotFound as error:  # deleted by the retention purge after it ended
        raise BadLink("this call-out is no longer kept", expired=True) from error
    return OpenedAnswer(answer=answer, target=target, callout=callout)
