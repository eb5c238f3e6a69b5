"""Set `readtime` (whole minutes) on each article and page as it is created."""

from pelican import signals
from pelican.contents import Article, Page

from plugins import pelican_private
from plugins.content_meta import merged_setting

DEFAULTS = {"words_per_minute": 200}
_words_per_minute = DEFAULTS["words_per_minute"]


class ReadingTimeSettingsError(ValueError):
    """READING_TIME is malformed; the message names the key and the fix."""


def check_settings(pelican):
    """Stop the build with a clear message when READING_TIME is malformed."""
    global _words_per_minute
    configured = merged_setting(
        pelican.settings, "READING_TIME", "reading_time", DEFAULTS, ReadingTimeSettingsError
    )
    speed = configured["words_per_minute"]
    if not isinstance(speed, int) or isinstance(speed, bool) or speed < 1:
        raise ReadingTimeSettingsError(
            f"reading_time: words_per_minute in READING_TIME must be a whole number >= 1, "
            f"not {speed!r}"
        )
    _words_per_minute = speed


def set_reading_time(content):
    """Pelican's `content_object_init` signal: minutes to read an article or page."""
    if isinstance(content, (Article, Page)):
        content.readtime = (
            len((pelican_private.raw_content(content) or "").split()) // _words_per_minute
        )


def register():
    """Connect reading_time to Pelican's signals."""
    signals.initialized.connect(check_settings)
    signals.content_object_init.connect(set_reading_time)
