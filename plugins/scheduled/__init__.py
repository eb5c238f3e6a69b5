"""Scheduled posts and pages: a Date in the future holds a file back until then.

Until "now" reaches its Date, a post or page is a draft: the live build, which writes
no drafts, leaves it out of every page, listing, feed, calendar and the sitemap, and
`make serve` shows it at its draft address with a banner saying when it goes out.
Setting (optional):

    SCHEDULED = {"now": None}  # an ISO date-time, or None: SITE_NOW, then the clock

`schedule.goes_out_at` tells the content check which files are scheduled.
"""

__all__ = ["register"]


def register():
    """Connect the plugin's signals.

    Pelican is imported only here, so `schedule` stays importable without it.
    """
    from .plugin import register as connect

    connect()
