"""DingTalk: what its routes need before its adapter loads (the adapter declares the rest)."""

CALLBACK_CONTENT_TYPES = ("application/json",)
