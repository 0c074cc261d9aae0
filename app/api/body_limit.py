"""The request body limit of the REST API: 413 before an oversized body is parsed."""

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_TOO_LARGE = "Content Too Large"


class BodyTooLarge(HTTPException):
    """Raised by the counting receive. An HTTPException, so FastAPI passes it on from
    its body parsing (anything else there becomes a 400) to the JSON error handler."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail=CONTENT_TOO_LARGE)


class BodySizeLimit:
    """Bodies over `max_bytes` are refused: a declared Content-Length before the app
    runs, a streamed (chunked) body as soon as what has arrived passes the limit.

    Parsing a 10 MB JSON body blocks the event loop for seconds, and every other
    request with it, so the check has to come before FastAPI reads anything.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared, chunked = "", False
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value.decode("latin-1")
            elif name == b"transfer-encoding":
                chunked = True
        if declared.isdigit():
            if int(declared) > self.max_bytes:
                await too_large(scope, receive, send)
                return
            if not chunked:
                # HTTP/1.1 framing: the server hands on exactly the declared length.
                await self.app(scope, receive, send)
                return
        elif not chunked and scope.get("http_version", "1.1").startswith("1"):
            # No length and not chunked: HTTP/1 has no body to count (most GETs).
            await self.app(scope, receive, send)
            return

        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge()
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            # Read outside FastAPI's own handling (a route reading the stream itself).
            if started:
                raise
            await too_large(scope, receive, send)


async def too_large(scope: Scope, receive: Receive, send: Send) -> None:
    response = JSONResponse({"detail": CONTENT_TOO_LARGE}, status_code=413)
    await response(scope, receive, send)
