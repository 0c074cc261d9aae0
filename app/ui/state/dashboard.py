"""The dashboard: greets the signed-in user, and follows a change of their name made elsewhere."""

from app.ui.state.auth import AuthState
from app.ui.state.event import event
from app.ui.state.failures import Events, reports_failures
from app.ui.table.live import LiveTable, me_topics


class DashboardState(LiveTable, AuthState):
    @event
    @reports_failures()
    async def open_dashboard(self) -> None:
        """on_load: check the session, and follow the user's own account."""
        # The dashboard is where an unverified user lands, with the banner.
        user = await self._current_user(unverified=True)
        self._watch(user, me_topics(user), [], search=False)

    async def _refresh_live(self) -> Events:
        # A verification made elsewhere takes the banner away.
        await self._current_user(unverified=True)
        return None
