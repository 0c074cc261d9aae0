"""Limits on the UI's websocket (Reflex's /api/_event), applied to raw messages before
socket.io or Reflex parse them: a size per message and a rate per connection."""

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

# Close codes of RFC 6455: the browser's socket.io client reconnects after either.
MESSAGE_TOO_BIG = 1009
POLICY_VIOLATION = 1008


class TokenBucket:
    """`rate` messages a second on average, bursts of up to `burst`."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.updated = burst, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def message_size(message: Message, limit: int) -> int:
    """The message's size in bytes, or a lower bound already over `limit`."""
    text = message.get("text")
    if text is not None:
        # UTF-8 takes at least a byte a character: a text longer than the limit is
        # over it without being encoded.
        return len(text) if len(text) > limit else len(text.encode())
    return len(message.get("bytes") or b"")


class EventSocketLimits:
    """Close a UI websocket that sends a message over `max_bytes`, or more than
    `per_second` messages a second (bursts of twice that). Said once, in one short
    line: the message itself is never logged, nor handed on."""

    def __init__(self, app: ASGIApp, path: str, max_bytes: int, per_second: int) -> None:
        self.app, self.path = app, path.rstrip("/")
        self.max_bytes, self.per_second = max_bytes, per_second

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket" or not scope["path"].startswith(self.path):
            await self.app(scope, receive, send)
            return
        bucket = TokenBucket(self.per_second, 2 * self.per_second)
        closed = False

        async def close(code: int, reason: str) -> Message:
            nonlocal closed
            client = scope.get("client") or ("?", 0)
            logger.warning("UI websocket from %s closed: %s", client[0], reason)
            closed = True
            await send({"type": "websocket.close", "code": code})
            # To socket.io, the client left: it drops the session as on any disconnect.
            return {"type": "websocket.disconnect", "code": code}

        async def limited_receive() -> Message:
            message = await receive()
            if message["type"] != "websocket.receive" or closed:
                return message
            size = message_size(message, self.max_bytes)
            if size > self.max_bytes:
                return await close(
                    MESSAGE_TOO_BIG, f"a message of {size} bytes or more, over {self.max_bytes}"
                )
            if not bucket.take():
                return await close(POLICY_VIOLATION, "more messages than the rate allows")
            return message

        async def send_until_closed(message: Message) -> None:
            if not closed:
                await send(message)

        await self.app(scope, limited_receive, send_until_closed)
