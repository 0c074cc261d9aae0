"""The Sessions tab of User Settings: where the user is signed in, and ending those."""

import dataclasses
from datetime import datetime

from app.db import read_session, session_scope
from app.models import SessionPublic, utcnow
from app.services import messages, sessions
from app.ui.devices import describe
from app.ui.state.auth import AuthState
from app.ui.state.event import event
from app.ui.state.failures import Events, reports_failures, success_toast

TAB = "sessions"
# Rows the tab shows, the ones used last; the API lists them all.
SHOWN = 50


@dataclasses.dataclass
class SessionRow:
    id: int = 0
    device: str = ""
    user_agent: str = ""
    address: str = ""
    last_active: str = ""
    started: str = ""
    current: bool = False

    @classmethod
    def of(cls, data: SessionPublic, now: datetime) -> "SessionRow":
        return cls(
            id=data.id,
            device=describe(data.user_agent),
            user_agent=data.user_agent,
            address=data.ip_address or "Unknown address",
            last_active="Active now" if data.current else ago(data.last_used_at, now),
            started=data.created_at.strftime("%Y-%m-%d %H:%M UTC"),
            current=data.current,
        )


def ago(moment: datetime, now: datetime) -> str:
    """How long ago, in the words a sessions page uses (last use is kept to the minute)."""
    minutes = int((now - moment).total_seconds() // 60)
    if minutes < 1:
        return "Active now"
    size, unit = next(
        (size, unit)
        for size, unit in ((60 * 24, "day"), (60, "hour"), (1, "minute"))
        if minutes >= size
    )
    count = minutes // size
    return f"{count} {unit}{'s' if count != 1 else ''} ago"


class SessionsState(AuthState):
    sessions: list[SessionRow] = []
    # Live sessions beyond those shown.
    more: int = 0
    loading: bool = False
    ending: bool = False

    @event
    @reports_failures(busy="loading")
    async def open_tab(self, tab: str) -> None:
        """The settings tabs' on_change: the sessions are read when their tab opens."""
        if tab == TAB:
            await self._load()

    async def _load(self) -> None:
        caller = await self._current_caller()
        assert caller.user.id is not None
        async with read_session() as session:
            found = await sessions.list_sessions(session, caller.user.id, caller.session_id)
        now = utcnow()
        self.sessions = [SessionRow.of(data, now) for data in found.data[:SHOWN]]
        self.more = found.count - len(self.sessions)

    @event
    @reports_failures(busy="ending")
    async def revoke(self, session_id: int) -> Events:
        caller = await self._current_caller()
        assert caller.user.id is not None
        if type(session_id) is not int or session_id == caller.session_id:
            # This tab's own session ends with Log Out, which also clears the tab.
            return None
        async with session_scope() as session:
            await sessions.end(session, caller.user.id, session_id)
        await self._load()
        return success_toast(messages.SESSION_ENDED)

    @event
    @reports_failures(busy="ending")
    async def sign_out_others(self) -> Events:
        caller = await self._current_caller()
        assert caller.user.id is not None
        async with session_scope() as session:
            count = await sessions.end_others(session, caller.user.id, caller.session_id)
        await self._load()
        return success_toast(messages.SESSIONS_ENDED.format(count=count))
