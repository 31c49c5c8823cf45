"""The admin API's bodies (what ``/docs`` shows under ``admin``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from agentqueue.core.apikeys import MAX_TAGS, ApiKeyRecord, KeyQuota, Role, TagKey, TagValue
from agentqueue.core.base.priority import Priority

Tenant = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^:\s]+$")]
ModelName = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant: Tenant
    name: str = Field(default="", max_length=200)
    role: Role = Role.TENANT
    priorities: list[Priority] = Field(default_factory=list, max_length=3)
    #: Catalog models or aliases (resolved and stored as catalog names); null: all.
    allowed_models: list[ModelName] | None = Field(default=None, max_length=200)
    #: Unix seconds; null: never.
    expires_at: float | None = Field(default=None, gt=0, le=1e11)
    quotas: KeyQuota = Field(default_factory=KeyQuota)
    tags: dict[TagKey, TagValue] = Field(default_factory=dict, max_length=MAX_TAGS)


class KeyUpdate(BaseModel):
    """Only the fields sent change (``expires_at: null`` removes the expiry,
    ``allowed_models: null`` allows every model)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    role: Role | None = None
    priorities: list[Priority] | None = Field(default=None, max_length=3)
    allowed_models: list[ModelName] | None = Field(default=None, max_length=200)
    expires_at: float | None = Field(default=None, gt=0, le=1e11)
    quotas: KeyQuota | None = None
    tags: dict[TagKey, TagValue] | None = Field(default=None, max_length=MAX_TAGS)


class KeyView(BaseModel):
    """A key's record — never the key, which only its creation shows."""

    key_id: str
    tenant: str
    name: str
    role: Role
    priorities: list[Priority]
    allowed_models: list[str] | None
    expires_at: float | None
    expired: bool
    quotas: KeyQuota
    tags: dict[str, str]
    created_at: float
    revoked_at: float | None
    rotated_from: str | None

    @classmethod
    def of(cls, r: ApiKeyRecord) -> KeyView:
        return cls(
            key_id=r.key_id,
            tenant=r.tenant,
            name=r.name,
            role=r.role,
            priorities=r.priorities,
            allowed_models=r.allowed_models,
            expires_at=r.expires_at,
            expired=r.expired(),
            quotas=r.quotas,
            tags=r.tags,
            created_at=r.created_at,
            revoked_at=r.revoked_at,
            rotated_from=r.rotated_from,
        )


class KeyCreated(BaseModel):
    """The new key, shown this once (only its hash is kept), and its record."""

    key: str
    record: KeyView


class KeyList(BaseModel):
    keys: list[KeyView]


class TenantQuotaBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tpm: int | None = Field(default=None, ge=1, le=10**11)
    rpm: int | None = Field(default=None, ge=1, le=10**8)
    usd_per_day: Decimal | None = Field(default=None, ge=0, le=10**9)


class TenantView(BaseModel):
    tenant: str
    #: The quota in force: set through this API (``source: admin``), else the settings'.
    quota: TenantQuotaBody | None
    source: str
    spent_today_usd: float
    keys: int


class TenantList(BaseModel):
    tenants: list[TenantView]


class UsageRowView(BaseModel):
    group: str
    tenant: str | None = None
    calls: int
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cost_usd: float


class UsageReport(BaseModel):
    group_by: str
    since: str
    until: str
    rows: list[UsageRowView]
    cost_usd: float


class DeadLetterView(BaseModel):
    message_id: str
    queue: str
    died_at: float
    actor: str
    task_id: str | None
    tenant: str | None = None
    task_status: str | None = None
    error: dict[str, object] | None = None
    message: dict[str, object] | None = None


class DeadLetterList(BaseModel):
    dead_letters: list[DeadLetterView]


class BudgetView(BaseModel):
    budget: str
    kind: str
    configured: bool
    available_requests: float | None = None
    available_tokens: float | None = None
    capacity_requests: float | None = None
    capacity_tokens: float | None = None
    sustainable_rpm: float | None = None
    sustainable_tpm: float | None = None
    open_leases: int | None = None
    #: Available tokens as a share of capacity (0..1).
    headroom: float | None = None


class BudgetList(BaseModel):
    budgets: list[BudgetView]


class AuditEntryView(BaseModel):
    id: str
    at: float
    actor: str
    action: str
    target: str
    details: dict[str, object]


class AuditPage(BaseModel):
    entries: list[AuditEntryView]
    #: Pass as ``before`` for older entries; null when there are none.
    next_before: str | None = None
