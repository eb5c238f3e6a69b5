"""neighbours: each post links to the next older and the next newer post in its category.

Sets `prev_article_in_category` (older) and `next_article_in_category` (newer)
on every article, None at either end, the names pelican-neighbors uses. Only
these two: the theme shows nothing else, and each attribute a plugin adds to
every post costs memory (see plugin.py). No setting.
"""

from .plugin import register

__all__ = ["register"]
