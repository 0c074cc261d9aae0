async def test_superuser_can_read_me(client, superuser):
    r = await client.get("/api/v1/users/me", headers=superuser.headers)
    assert r.status_code == 200
    assert r.json()["email"] == superuser.email
