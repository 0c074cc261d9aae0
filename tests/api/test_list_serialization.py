"""List pages are serialized from plain rows; they must match the models exactly."""

import httpx

from tests.conftest import Account


async def test_list_entries_are_identical_to_single_reads(
    client: httpx.AsyncClient, normal_user: Account, superuser: Account
) -> None:
    created = await client.post(
        "/api/v1/items/", json={"title": "Same", "description": None}, headers=normal_user.headers
    )
    single = await client.get(f"/api/v1/items/{created.json()['id']}", headers=normal_user.headers)
    listed = await client.get("/api/v1/items/", headers=normal_user.headers)
    assert listed.json()["data"] == [single.json()] == [created.json()]
    assert listed.headers["content-type"] == "application/json"

    me = await client.get("/api/v1/users/me", headers=normal_user.headers)
    users = await client.get("/api/v1/users/", headers=superuser.headers)
    [entry] = [u for u in users.json()["data"] if u["id"] == normal_user.id]
    assert entry == me.json()
    assert entry["created_at"].endswith("Z") or "+" in entry["created_at"]
