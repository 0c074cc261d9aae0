"""What the FastAPI app contains depends on the environment."""

import pytest

from app.api.main import create_api
from app.core.config import settings


def route_paths(environment: str, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    monkeypatch.setattr(settings, "ENVIRONMENT", environment)
    return set(create_api().openapi()["paths"])


def test_private_route_exists_only_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "/api/v1/private/users/" in route_paths("local", monkeypatch)
    for environment in ("staging", "production"):
        paths = route_paths(environment, monkeypatch)
        assert "/api/v1/private/users/" not in paths
        assert "/api/v1/users/signup" in paths
