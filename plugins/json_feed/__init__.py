"""JSON Feed 1.1 of the whole site; see json_feed.plugin."""

from .plugin import register

__all__ = ["register"]
