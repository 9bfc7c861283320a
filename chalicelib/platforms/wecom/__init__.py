"""WeCom: what its routes need before its adapter loads (the adapter declares the rest)."""

# Callbacks are XML envelopes; some senders label them text/plain.
CALLBACK_CONTENT_TYPES = ("text/xml", "application/xml", "text/plain")
