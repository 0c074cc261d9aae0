"""SQLModel tables and API schemas: one module per entity, limits declared once.

Everything is importable from `app.models`. An entity that devtools.scaffold writes is
imported here as a module (`from app.models import projects as projects`), so that its
table joins the metadata (Alembic, create_all); its names are imported from it.
"""

from app.models.auth import (
    Message as Message,
)
from app.models.auth import (
    NewPassword as NewPassword,
)
from app.models.auth import (
    RefreshRequest as RefreshRequest,
)
from app.models.auth import (
    Token as Token,
)
from app.models.auth import (
    TokenPair as TokenPair,
)
from app.models.auth import (
    VerifyEmail as VerifyEmail,
)
from app.models.counters import (
    item_count as item_count,
)
from app.models.counters import (
    row_total as row_total,
)
from app.models.fields import (
    MAX_ID as MAX_ID,
)
from app.models.fields import (
    PASSWORD_MAX_LENGTH as PASSWORD_MAX_LENGTH,
)
from app.models.fields import (
    PASSWORD_MIN_LENGTH as PASSWORD_MIN_LENGTH,
)
from app.models.fields import (
    TEXT_MAX_LENGTH as TEXT_MAX_LENGTH,
)
from app.models.fields import (
    UNSTORABLE_TEXT as UNSTORABLE_TEXT,
)
from app.models.fields import (
    Email as Email,
)
from app.models.fields import (
    Text as Text,
)
from app.models.fields import (
    created_at_field as created_at_field,
)
from app.models.fields import (
    is_storable_id as is_storable_id,
)
from app.models.fields import (
    newest_first_index as newest_first_index,
)
from app.models.fields import (
    owner_id_field as owner_id_field,
)
from app.models.fields import (
    unstorable_text_error as unstorable_text_error,
)
from app.models.fields import (
    updated_at_field as updated_at_field,
)
from app.models.fields import (
    utcnow as utcnow,
)
from app.models.fields import (
    without_unstorable as without_unstorable,
)
from app.models.identities import (
    PROVIDER_NAME_MAX_LENGTH as PROVIDER_NAME_MAX_LENGTH,
)
from app.models.identities import (
    SUBJECT_MAX_LENGTH as SUBJECT_MAX_LENGTH,
)
from app.models.identities import (
    TICKET_MAX_LENGTH as TICKET_MAX_LENGTH,
)
from app.models.identities import (
    IdentitiesPublic as IdentitiesPublic,
)
from app.models.identities import (
    IdentityPublic as IdentityPublic,
)
from app.models.identities import (
    OidcLink as OidcLink,
)
from app.models.identities import (
    OidcLinkRequired as OidcLinkRequired,
)
from app.models.identities import (
    OidcProviderPublic as OidcProviderPublic,
)
from app.models.identities import (
    OidcProvidersPublic as OidcProvidersPublic,
)
from app.models.identities import (
    SsoTicket as SsoTicket,
)
from app.models.identities import (
    UserIdentity as UserIdentity,
)
from app.models.items import (
    Item as Item,
)
from app.models.items import (
    ItemBase as ItemBase,
)
from app.models.items import (
    ItemCreate as ItemCreate,
)
from app.models.items import (
    ItemPublic as ItemPublic,
)
from app.models.items import (
    ItemRecord as ItemRecord,
)
from app.models.items import (
    ItemsPage as ItemsPage,
)
from app.models.items import (
    ItemsPublic as ItemsPublic,
)
from app.models.items import (
    ItemUpdate as ItemUpdate,
)
from app.models.sessions import (
    ADDRESS_MAX_LENGTH as ADDRESS_MAX_LENGTH,
)
from app.models.sessions import (
    USER_AGENT_MAX_LENGTH as USER_AGENT_MAX_LENGTH,
)
from app.models.sessions import (
    SessionPublic as SessionPublic,
)
from app.models.sessions import (
    SessionsPublic as SessionsPublic,
)
from app.models.sessions import (
    UserSession as UserSession,
)
from app.models.two_factor import (
    TWO_FACTOR_CODE_MAX_LENGTH as TWO_FACTOR_CODE_MAX_LENGTH,
)
from app.models.two_factor import (
    RecoveryCode as RecoveryCode,
)
from app.models.two_factor import (
    RecoveryCodes as RecoveryCodes,
)
from app.models.two_factor import (
    TwoFactorChallenge as TwoFactorChallenge,
)
from app.models.two_factor import (
    TwoFactorCode as TwoFactorCode,
)
from app.models.two_factor import (
    TwoFactorDisable as TwoFactorDisable,
)
from app.models.two_factor import (
    TwoFactorLogin as TwoFactorLogin,
)
from app.models.two_factor import (
    TwoFactorSetup as TwoFactorSetup,
)
from app.models.users import (
    PrivateUserCreate as PrivateUserCreate,
)
from app.models.users import (
    UpdatePassword as UpdatePassword,
)
from app.models.users import (
    User as User,
)
from app.models.users import (
    UserBase as UserBase,
)
from app.models.users import (
    UserCreate as UserCreate,
)
from app.models.users import (
    UserPublic as UserPublic,
)
from app.models.users import (
    UserRecord as UserRecord,
)
from app.models.users import (
    UserRegister as UserRegister,
)
from app.models.users import (
    UsersPage as UsersPage,
)
from app.models.users import (
    UsersPublic as UsersPublic,
)
from app.models.users import (
    UserUpdate as UserUpdate,
)
from app.models.users import (
    UserUpdateMe as UserUpdateMe,
)
