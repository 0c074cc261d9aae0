"""A browser tab's session with a Reflex backend, over socket.io as the frontend opens it.

The tab connects to `/api/_event` with its client token in the query string and its
hydrate event (with the stored localStorage values) in the connect packet; the backend
then sends the page's state as updates, as it would to a browser loading the page.
"""

from collections.abc import Callable
from contextlib import suppress
from typing import Any

import socketio

# socket.io-client takes the URL's path as the namespace: Reflex's events live in /api/_event.
NAMESPACE = "/api/_event"
ROOT_STATE = "reflex___state____state"


def router(path: str) -> dict[str, Any]:
    """The router data the frontend sends with each event of the page at `path`."""
    return {"pathname": path, "asPath": path, "query": {}}


async def connect(
    base: str,
    client_token: str,
    path: str,
    stored: dict[str, str],
    on_update: Callable[[dict[str, Any]], Any],
    on_disconnect: Callable[..., Any] | None = None,
    *,
    hydrate: bool = True,
) -> socketio.AsyncClient:
    """A tab that loaded `path` with `stored` (state var -> value) in its localStorage.

    Every update the backend sends goes to `on_update` (a function or a coroutine
    function); `on_disconnect` is called when the backend closes the connection.
    `hydrate=False` connects as no browser does: without the hydrate (nor `stored`).
    """
    client = socketio.AsyncClient(reconnection=False)
    client.on("event", on_update, namespace=NAMESPACE)
    if on_disconnect is not None:
        client.on("disconnect", on_disconnect, namespace=NAMESPACE)
    boot = {
        "name": f"{ROOT_STATE}.hydrate_and_load",
        "payload": {"vars": stored},
        "router_data": router(path),
    }
    try:
        await client.connect(
            f"{base}?token={client_token}",
            socketio_path=NAMESPACE,
            transports=["websocket"],
            auth={"event": boot} if hydrate else None,
            wait_timeout=30,
            namespaces=[NAMESPACE],
        )
    except BaseException:
        # The caller never gets the client, so it cannot close what was opened.
        with suppress(Exception):
            await client.disconnect()
        raise
    return client


async def send(client: socketio.AsyncClient, name: str, payload: dict[str, Any], path: str) -> None:
    """Send the event `name` as the page at `path` does."""
    await client.emit(
        "event", {"name": name, "payload": payload, "router_data": router(path)}, NAMESPACE
    )
