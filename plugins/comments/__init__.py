"""Readers' comments on posts: the Comments field, approved comments on the pages, feeds."""

from .plugin import register

__all__ = ["register"]
