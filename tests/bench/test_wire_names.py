"""The bench speaks Reflex's protocol with state names written out (it starts no app of
its own to ask); they must stay those of the app's states."""

from app.ui.state.auth import AuthState
from app.ui.state.items import ItemsState
from bench import live, ui
from devtools import reflex_socket


def test_the_bench_names_the_states_the_app_has() -> None:
    assert ItemsState.get_full_name() == ui.ITEMS_STATE
    assert AuthState.get_full_name() == ui.AUTH_STATE
    assert f"{AuthState.get_full_name()}.access_token_rx_state_" == ui.TOKEN_VAR
    assert ItemsState.get_full_name().startswith(f"{reflex_socket.ROOT_STATE}.")
    assert "rows" in ItemsState.get_fields() and live.ROWS_KEY == "rows_rx_state_"
