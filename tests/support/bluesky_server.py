"""The organisation's Bluesky account on loopback, speaking XRPC: createSession and
refreshSession (tokens that can be made to expire), listNotifications (newest first, paged by
an opaque cursor towards older ones, as the real one), and createRecord, recording the posts we
made. `fail` makes the next requests answer with the given status codes."""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

HANDLE = "gemeente-demo.bsky.social"
DID = "did:plc:gemeentedemo4x7k2mfq3ra"
PASSWORD = "abcd-efgh-ijkl-mnop"  # an app password's shape


class BlueskyAccount:
    def __init__(self, notifications: list[dict[str, Any]], *, page_size: int = 50) -> None:
        self.notifications = list(notifications)
        self.page_size = page_size
        self.sessions = 0
        self.refreshes = 0
        self.access = ""
        self.refresh = ""
        self.requests: list[dict[str, Any]] = []
        self.records: list[dict[str, Any]] = []
        self.fail: list[int] = []
        # Direct messages (the chat service behind the PDS's atproto-proxy).
        self.chat_scope = True  # False: an app password without direct-message access
        self.convos: dict[str, dict[str, Any]] = {}
        self.chat_log: list[dict[str, Any]] = []
        self.chat_sent: list[dict[str, Any]] = []
        self.app = Starlette(
            routes=[
                Route("/xrpc/chat.bsky.convo.listConvos", self.list_convos),
                Route("/xrpc/chat.bsky.convo.getLog", self.get_log),
                Route("/xrpc/chat.bsky.convo.getConvo", self.get_convo),
                Route("/xrpc/chat.bsky.convo.getMessages", self.get_messages),
                Route("/xrpc/chat.bsky.convo.sendMessage", self.send_message, methods=["POST"]),
                Route(
                    "/xrpc/com.atproto.server.createSession", self.create_session, methods=["POST"]
                ),
                Route(
                    "/xrpc/com.atproto.server.refreshSession",
                    self.refresh_session,
                    methods=["POST"],
                ),
                Route("/xrpc/app.bsky.notification.listNotifications", self.list_notifications),
                Route("/xrpc/com.atproto.repo.createRecord", self.create_record, methods=["POST"]),
            ]
        )

    def expire_access(self) -> None:
        self.access = "expired"

    def expire_refresh(self) -> None:
        self.refresh = "expired"

    def _log(self, request: Request, body: Any = None) -> Response | None:
        self.requests.append(
            {
                "path": request.url.path,
                "query": dict(request.query_params),
                "authorization": request.headers.get("authorization"),
                "body": body,
            }
        )
        if self.fail:
            code = self.fail.pop(0)
            headers = {"ratelimit-reset": "4102444800"} if code == 429 else {}
            return JSONResponse({"error": "InternalServerError"}, code, headers=headers)
        return None

    def _tokens(self) -> dict[str, str | bool]:
        self.sessions += 1
        self.access = f"access-{self.sessions}-{self.refreshes}"
        self.refresh = f"refresh-{self.sessions}-{self.refreshes}"
        return {
            "accessJwt": self.access,
            "refreshJwt": self.refresh,
            "handle": HANDLE,
            "did": DID,
            "active": True,
        }

    def _authorised(self, request: Request) -> Response | None:
        given = request.headers.get("authorization", "")
        if given == f"Bearer {self.access}" and self.access != "expired":
            return None
        if given.startswith("Bearer access-"):
            return JSONResponse({"error": "ExpiredToken", "message": "Token has expired"}, 400)
        return JSONResponse({"error": "AuthenticationRequired", "message": "Invalid token"}, 401)

    async def create_session(self, request: Request) -> Response:
        body = await request.json()
        failed = self._log(request, {**body, "password": "…"})
        if failed is not None:
            return failed
        if body.get("identifier") != HANDLE or body.get("password") != PASSWORD:
            return JSONResponse(
                {"error": "AuthenticationRequired", "message": "Invalid identifier or password"},
                401,
            )
        return JSONResponse(self._tokens())

    async def refresh_session(self, request: Request) -> Response:
        failed = self._log(request)
        if failed is not None:
            return failed
        if request.headers.get("authorization") != f"Bearer {self.refresh}":
            return JSONResponse({"error": "ExpiredToken", "message": "Token has expired"}, 400)
        self.refreshes += 1
        self.sessions -= 1  # the same session, new tokens
        return JSONResponse(self._tokens())

    async def list_notifications(self, request: Request) -> Response:
        failed = self._log(request) or self._authorised(request)
        if failed is not None:
            return failed
        ordered = sorted(self.notifications, key=lambda n: (n["indexedAt"], n["uri"]))[::-1]
        start = int(request.query_params.get("cursor", "0"))
        limit = min(int(request.query_params.get("limit", "50")), self.page_size)
        page = ordered[start : start + limit]
        body: dict[str, Any] = {"notifications": page, "priority": False}
        if start + limit < len(ordered):
            body["cursor"] = str(start + limit)
        return JSONResponse(body)

    async def create_record(self, request: Request) -> Response:
        body = await request.json()
        failed = self._log(request, body) or self._authorised(request)
        if failed is not None:
            return failed
        if body.get("repo") != DID:
            return JSONResponse({"error": "InvalidRequest", "message": "wrong repo"}, 400)
        rkey = f"3lcreply{len(self.records):04d}"
        uri = f"at://{DID}/{body['collection']}/{rkey}"
        cid = "bafyrei" + hashlib.sha256(uri.encode()).hexdigest()[:52]
        self.records.append({"uri": uri, "cid": cid, **body})
        return JSONResponse({"uri": uri, "cid": cid, "validationStatus": "valid"})

    # -- direct messages ------------------------------------------------------------------

    def _rev(self) -> str:
        # Revisions are TIDs: base32-sortable strings; these sort the same way.
        return f"3lc{len(self.chat_log) + 1:010d}"

    def direct_message(self, convo_id: str, text: str, sender: dict[str, str]) -> str:
        """`sender` ({did, handle, displayName}) writes `text` to us; returns the message id."""
        convo = self.convos.setdefault(
            convo_id,
            {
                "id": convo_id,
                "rev": "",
                "members": [{"did": DID, "handle": HANDLE, "displayName": "Gemeente"}],
                "messages": [],
                "muted": False,
                "unreadCount": 0,
            },
        )
        if all(m["did"] != sender["did"] for m in convo["members"]):
            convo["members"].append(sender)
        return self._add_message(convo, text, sender["did"])

    def _add_message(self, convo: dict[str, Any], text: str, did: str) -> str:
        rev = self._rev()
        message = {
            "$type": "chat.bsky.convo.defs#messageView",
            "id": f"3lcmsg{len(self.chat_log) + 1:06d}",
            "rev": rev,
            "text": text,
            "sender": {"did": did},
            "sentAt": "2026-12-06T12:00:00.000Z",
        }
        convo["messages"].append(message)
        convo["rev"] = rev
        self.chat_log.append(
            {
                "$type": "chat.bsky.convo.defs#logCreateMessage",
                "rev": rev,
                "convoId": convo["id"],
                "message": message,
            }
        )
        return str(message["id"])

    def _chat(self, request: Request) -> Response | None:
        failed = self._log(request) or self._authorised(request)
        if failed is not None:
            return failed
        if request.headers.get("atproto-proxy") != "did:web:api.bsky.chat#bsky_chat":
            return JSONResponse({"error": "InvalidRequest", "message": "no chat proxy"}, 400)
        if not self.chat_scope:
            return JSONResponse(
                {"error": "AuthenticationRequired", "message": "Bad token scope"}, 401
            )
        return None

    async def list_convos(self, request: Request) -> Response:
        refused = self._chat(request)
        if refused is not None:
            return refused
        convos = [{k: v for k, v in c.items() if k != "messages"} for c in self.convos.values()]
        return JSONResponse({"convos": convos})

    async def get_log(self, request: Request) -> Response:
        refused = self._chat(request)
        if refused is not None:
            return refused
        after = request.query_params.get("cursor", "")
        logs = [entry for entry in self.chat_log if entry["rev"] > after]
        return JSONResponse({"logs": logs, "cursor": logs[-1]["rev"] if logs else after})

    async def get_convo(self, request: Request) -> Response:
        refused = self._chat(request)
        if refused is not None:
            return refused
        convo = self.convos.get(request.query_params.get("convoId", ""))
        if convo is None:
            return JSONResponse({"error": "InvalidRequest", "message": "Convo not found"}, 400)
        return JSONResponse({"convo": {k: v for k, v in convo.items() if k != "messages"}})

    async def get_messages(self, request: Request) -> Response:
        refused = self._chat(request)
        if refused is not None:
            return refused
        convo = self.convos.get(request.query_params.get("convoId", ""))
        if convo is None:
            return JSONResponse({"error": "InvalidRequest", "message": "Convo not found"}, 400)
        limit = int(request.query_params.get("limit", "50"))
        return JSONResponse({"messages": convo["messages"][::-1][:limit]})

    async def send_message(self, request: Request) -> Response:
        body = await request.json()
        refused = self._chat(request)
        if refused is not None:
            return refused
        convo = self.convos.get(body.get("convoId", ""))
        if convo is None:
            return JSONResponse({"error": "InvalidRequest", "message": "Convo not found"}, 400)
        message_id = self._add_message(convo, body["message"]["text"], DID)
        self.chat_sent.append(body)
        return JSONResponse(convo["messages"][-1] | {"id": message_id})
