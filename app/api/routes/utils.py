"""Operational helpers (tag `utils`)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.api.deps import ClientAddress, get_current_active_superuser
from app.api.errors import AUTHENTICATED, RATE_LIMITED, USES_DATABASE, responses
from app.models import Email, Message
from app.services import mailing, messages

router = APIRouter(prefix="/utils", tags=["utils"])


@router.post(
    "/test-email/",
    dependencies=[Depends(get_current_active_superuser)],
    status_code=201,
    responses=responses(*AUTHENTICATED, *RATE_LIMITED, *USES_DATABASE),
)
async def test_email(email_to: Annotated[Email, Query()], client: ClientAddress) -> Message:
    await mailing.send_test_email(str(email_to), client=client)
    return Message(message=messages.TEST_EMAIL_SENT)


@router.get("/health-check/")
async def health_check() -> bool:
    return True
