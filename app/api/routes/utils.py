"""Operational helpers (tag `utils`)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import EmailStr

from app.api.deps import ClientAddress, get_current_active_superuser
from app.models import Message
from app.services import mailing, messages

router = APIRouter(prefix="/utils", tags=["utils"])


@router.post(
    "/test-email/",
    dependencies=[Depends(get_current_active_superuser)],
    status_code=201,
)
async def test_email(email_to: Annotated[EmailStr, Query()], client: ClientAddress) -> Message:
    await mailing.send_test_email(str(email_to), client=client)
    return Message(message=messages.TEST_EMAIL_SENT)


@router.get("/health-check/")
async def health_check() -> bool:
    return True
