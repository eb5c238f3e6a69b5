"""Settings for build B: plain Pelican 4.12 on the same posts.

Its built-in `simple` theme, TYPOGRIFY = True, no plugins and Pelican's own
default of no content cache. It shares with our configuration only what makes
the two builds write the same set of pages and feeds: the content folders,
URL and save-as patterns, pagination, feeds, Markdown extensions, time zone
and summary length. The content folder and output are given on the command line.
"""

import pelicanconf as ours

_SHARED = [
    "AUTHOR",
    "SITENAME",
    "SITEURL",
    "RELATIVE_URLS",
    "TIMEZONE",
    "DEFAULT_LANG",
    "DEFAULT_DATE_FORMAT",
    "DEFAULT_CATEGORY",
    "STATIC_PATHS",
    "EXTRA_PATH_METADATA",
    "DEFAULT_PAGINATION",
    "PAGINATION_PATTERNS",
    "SUMMARY_MAX_LENGTH",
    "MARKDOWN",
    "DEFAULT_METADATA",
    "FEED_DOMAIN",
    "FEED_ALL_ATOM",
    "FEED_ALL_RSS",
    "FEED_ATOM",
    "FEED_RSS",
    "CATEGORY_FEED_ATOM",
    "CATEGORY_FEED_RSS",
    "TAG_FEED_ATOM",
    "TAG_FEED_RSS",
    "AUTHOR_FEED_ATOM",
    "AUTHOR_FEED_RSS",
    "TRANSLATION_FEED_ATOM",
    "TRANSLATION_FEED_RSS",
    "RSS_FEED_SUMMARY_ONLY",
    "FEED_MAX_ITEMS",
    "YEAR_ARCHIVE_SAVE_AS",
    "MONTH_ARCHIVE_SAVE_AS",
    "INDEX_SAVE_AS",
]
_SHARED += [name for name in dir(ours) if name.endswith(("_URL", "_SAVE_AS")) and name.isupper()]
globals().update({name: getattr(ours, name) for name in _SHARED if hasattr(ours, name)})

THEME = "simple"
# Only the blog posts: trainings, intern calls and our pages (form pages) need our
# plugins and templates. They are a few percent of the files, all in A's favour to B.
ARTICLE_PATHS = ["blog"]
PAGE_PATHS = []
TYPOGRIFY = True
PLUGINS = []
PLUGIN_PATHS = []
# The simple theme has no 404 template.
DIRECT_TEMPLATES = ["index", "categories", "tags", "authors", "archives"]
CACHE_CONTENT = False
LOAD_CONTENT_CACHE = False
