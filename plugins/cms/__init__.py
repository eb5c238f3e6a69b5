"""The browser editor at /admin/: Decap CMS, its configuration generated from the field list."""

from .plugin import register

__all__ = ["register"]
