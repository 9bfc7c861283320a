"""Chalice blueprints: each route parses, calls one function, and returns."""
