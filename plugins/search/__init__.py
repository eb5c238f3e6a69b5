"""Full-text search: the built site indexed with Pagefind; see search.plugin."""

from .plugin import index_deferred, register, stop_deferred

__all__ = ["index_deferred", "register", "stop_deferred"]
