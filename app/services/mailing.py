"""Mail sent on request: the superuser's test email."""

from app.emails import build_test_email, schedule_email
from app.services import rate_limits
from app.services.rate_limits import Limit


async def send_test_email(email_to: str, *, client: str) -> None:
    """Mail a test message; limited per address, as each one reaches a real inbox."""
    await rate_limits.limiter.charge((Limit.TEST_EMAILS_PER_ADDRESS, client))
    schedule_email(email_to, build_test_email(email_to))
