"""What the web app's pages and page script may send: query strings and small JSON bodies, bounded."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.core.models import MAX_SILENCE_MINUTES, Action
from chalicelib.flows import pending


class HomeQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")  # the clients add their own (corpId, client=pc, ...)
    next: str | None = Field(default=None, max_length=512)
    pending: str | None = Field(default=None, pattern=pending.ID_PATTERN)


class IncidentQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    view: str | None = Field(default=None, max_length=64)  # a robot message's read-only link


class OAuthQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    code: str | None = Field(default=None, max_length=512)
    state: str | None = Field(default=None, max_length=128)
    error: str | None = Field(default=None, max_length=256)


class CodeIn(BaseModel):
    code: str = Field(min_length=1, max_length=512)
    next: str | None = Field(default=None, max_length=512)


class MobileIn(BaseModel):
    mobile: str = Field(pattern=r"^\+?[0-9][0-9 -]{4,30}$")


class PageAction(BaseModel):
    action: Action
    minutes: int | None = Field(default=None, ge=1, le=MAX_SILENCE_MINUTES)
