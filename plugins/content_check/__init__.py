"""Content check: every content file's metadata is checked before Pelican reads it.

Any problem stops the build with one report listing every problem in every file as
`path:line: field: what is wrong — how to fix it`. Setting:

    CONTENT_CHECK = {"enabled": True, "extra_fields": []}

`python -m plugins.content_check [settings file]` (`invoke check`)
runs only the check.
"""

from .plugin import register

__all__ = ["register"]
