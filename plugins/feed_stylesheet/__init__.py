"""Attach an XSL stylesheet to every Atom and RSS feed; see feed_stylesheet.plugin."""

from .plugin import register

__all__ = ["register"]
