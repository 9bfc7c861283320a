"""Settings read from the environment once per process (``.chalice/config.json`` sets them per stage)."""
from __future__ import annotations

import functools
import os

from pydantic import BaseModel


class Settings(BaseModel, frozen=True):
    """Everything the app reads from its environment. No secrets: deployed stages name the admin token's
    SSM parameter (chalicelib.common.admin_token); ``admin_token`` is for the tests only."""

    prefix: str = "dutybridge-dev"
    public_base_url: str = "http://127.0.0.1:8000"
    admin_token: str = ""
    admin_token_parameter: str = ""
    max_callback_bytes: int = 64 * 1024
    max_admin_bytes: int = 256 * 1024
    # A push of 1,000 Alertmanager alerts is about 600 KB; API Gateway takes up to 10 MB, Lambda 6 MB.
    max_push_bytes: int = 5 * 1024 * 1024
    http_timeout: float = 5.0

    def name(self, logical: str) -> str:
        """Physical name of a table or queue, e.g. ``dutybridge-dev-notifications``."""
        return f"{self.prefix}-{logical}"

    @property
    def kms_alias(self) -> str:
        return f"alias/{self.prefix}"


@functools.lru_cache(maxsize=1)
def settings() -> Settings:
    env = os.environ
    return Settings(
        prefix=env.get("DUTYBRIDGE_PREFIX", "dutybridge-dev"),
        public_base_url=env.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
        admin_token=env.get("ADMIN_TOKEN", ""),
        admin_token_parameter=env.get("ADMIN_TOKEN_PARAMETER", ""),
        http_timeout=float(env.get("PLATFORM_HTTP_TIMEOUT", "5")),
    )


def reset() -> None:
    """Forget the cached settings (tests change the environment)."""
    settings.cache_clear()
