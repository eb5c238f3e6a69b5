"""reading_time: minutes to read each article and page, as `readtime`.

Setting (optional)::

    READING_TIME = {"words_per_minute": 200}

`readtime` is the whole minutes (words // words_per_minute, so 0 for a very
short text), counted the way pelican-readtime counts: the words of the HTML
Pelican made, tags included. It is set as each article or page is created,
while Python still shares one table of attribute names among all of them.
"""

from .plugin import register

__all__ = ["register"]
