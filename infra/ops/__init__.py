"""The operator CLI, ``python -m infra.ops``: dead-lettered messages, members from CSV, linking, health."""
