"""Pelican settings for development builds (`make serve`, `make build`).

`publishconf.py` imports everything here and changes only what differs for
the live site. Each setting has a short note on why it is set.
"""

import os

from pelican.readers import MarkdownReader

AUTHOR = "Charles Lenchner"
SITENAME = "Organizing 2.0"
SITESUBTITLE = "Online organizing for labor unions and community groups"
SITE_DESCRIPTION = (
    "Organizing 2.0 is a volunteer-run network in New York that trains labor unions "
    "and community organizing groups to use online tools well."
)

# Set in both settings files so feeds get absolute links and `--fatal warnings`
# builds never warn about a missing SITEURL. The dev server listens here.
SITEURL = os.environ.get("SITEURL", "http://127.0.0.1:8000")
# Relative links let the dev build work on any port and from a copied folder.
RELATIVE_URLS = True

PATH = "content"
THEME = "theme"
TIMEZONE = "America/New_York"
DEFAULT_LANG = "en"
DEFAULT_DATE_FORMAT = "%B %-d, %Y"

# Volunteers group posts by folder; the folder name is the category.
USE_FOLDER_AS_CATEGORY = True
DEFAULT_CATEGORY = "Blog"
# trainings/ holds trainings and events (plugins/events), internships/ intern calls
# (plugins/intern_calls); each folder is also their category, with its own feeds.
ARTICLE_PATHS = ["blog", "trainings", "internships"]
PAGE_PATHS = ["pages"]
# Copied as they are: images (show one with `![what it shows]({static}/images/NAME)`),
# documents to download (`[the guide]({static}/files/guide.pdf)`) and extra files.
STATIC_PATHS = ["images", "files", "extra"]
# The picture a shared link shows (Open Graph, Twitter cards), with its text for
# people who cannot see it. Our own, in the theme.
SHARE_IMAGE = {
    "path": "theme/img/share.png",
    "width": 1200,
    "height": 630,
    "alt": "Organizing 2.0: online organizing skills for unions and community groups",
}
# Markdown under another extension or in capitals is read too (Pelican matches case).
READERS = {extension: MarkdownReader for extension in ("MD", "Md", "MARKDOWN", "Markdown", "MDOWN")}
# Files nobody writes on purpose: hidden files (.DS_Store, .swp), editor backups.
IGNORE_FILES = [".*", "*~", "#*#", "~$*", "Thumbs.db", "desktop.ini", "*.swp", "*.swo", "*.bak"]
# robots.txt is a theme template so it names the sitemap at the real address.
TEMPLATE_PAGES = {"robots.txt": "robots.txt"}

# Clean, stable URLs: folders with index.html, so links never show ".html".
ARTICLE_URL = "blog/{date:%Y}/{slug}/"
ARTICLE_SAVE_AS = "blog/{date:%Y}/{slug}/index.html"
DRAFT_URL = "drafts/{slug}/"
DRAFT_SAVE_AS = "drafts/{slug}/index.html"
PAGE_URL = "{slug}/"
PAGE_SAVE_AS = "{slug}/index.html"
CATEGORY_URL = "blog/category/{slug}/"
CATEGORY_SAVE_AS = "blog/category/{slug}/index.html"
CATEGORIES_URL = "blog/categories/"
CATEGORIES_SAVE_AS = "blog/categories/index.html"
TAG_URL = "blog/tag/{slug}/"
TAG_SAVE_AS = "blog/tag/{slug}/index.html"
TAGS_URL = "blog/tags/"
TAGS_SAVE_AS = "blog/tags/index.html"
AUTHOR_URL = "blog/author/{slug}/"
AUTHOR_SAVE_AS = "blog/author/{slug}/index.html"
AUTHORS_URL = "blog/authors/"
AUTHORS_SAVE_AS = "blog/authors/index.html"
ARCHIVES_URL = "blog/"
ARCHIVES_SAVE_AS = "blog/index.html"
# One archive page a year (paginated), so no page grows with the whole blog.
YEAR_ARCHIVE_URL = "blog/{date:%Y}/"
YEAR_ARCHIVE_SAVE_AS = "blog/{date:%Y}/index.html"
MONTH_ARCHIVE_SAVE_AS = ""
DIRECT_TEMPLATES = ["index", "categories", "tags", "authors", "archives", "404", "search"]
# Full-text search (plugins/search writes the index it uses).
SEARCH_URL = "search/"
SEARCH_SAVE_AS = "search/index.html"
# 404.html sits at the root where static hosts look for it.
_404_SAVE_AS = "404.html"
INDEX_SAVE_AS = "index.html"

DEFAULT_PAGINATION = 10
PAGINATED_TEMPLATES = {
    "index": None,
    "tag": None,
    "category": None,
    "author": None,
    "period_archives": 80,
}
PAGINATION_PATTERNS = (
    (1, "{url}", "{save_as}"),
    (2, "{base_name}/page/{number}/", "{base_name}/page/{number}/index.html"),
)

# Feeds: Atom carries full text, RSS the summary. Every feed lives under
# feeds/ with a kind folder, so category, tag and author feeds never collide.
FEED_DOMAIN = SITEURL
FEED_ALL_ATOM = "feeds/all.atom.xml"
FEED_ALL_RSS = "feeds/all.rss.xml"
FEED_ATOM = None
FEED_RSS = None
CATEGORY_FEED_ATOM = "feeds/category/{slug}.atom.xml"
CATEGORY_FEED_RSS = "feeds/category/{slug}.rss.xml"
TAG_FEED_ATOM = "feeds/tag/{slug}.atom.xml"
TAG_FEED_RSS = "feeds/tag/{slug}.rss.xml"
AUTHOR_FEED_ATOM = "feeds/author/{slug}.atom.xml"
AUTHOR_FEED_RSS = "feeds/author/{slug}.rss.xml"
TRANSLATION_FEED_ATOM = None
TRANSLATION_FEED_RSS = None
RSS_FEED_SUMMARY_ONLY = True
FEED_MAX_ITEMS = 20
# The whole site as a JSON Feed 1.1 (plugins/json_feed).
JSON_FEED = {"save_as": "feeds/all.json"}
# Browsers opening an Atom/RSS feed show a page explaining feeds (plugins/feed_stylesheet).
FEED_STYLESHEET = {"save_as": "feeds/pretty-feed.xsl"}

# Smart quotes and dashes in titles and text.
TYPOGRIFY = True

SUMMARY_MAX_LENGTH = 50

MARKDOWN = {
    "extension_configs": {
        "markdown.extensions.extra": {},
        "markdown.extensions.meta": {},
        "markdown.extensions.toc": {"permalink": False},
        "markdown.extensions.smarty": {},
    },
    "output_format": "html5",
}

# Our own plugins (plugins/<name>/, installed with the project) and the
# pelican-plugins packages.
PLUGINS = [
    "pelican.plugins.sitemap",
    # Older/newer post in the same category (prev_/next_article_in_category).
    "pelican.plugins.neighbors",
    # Minutes to read (`readtime`): our own, as pelican-readtime leaves drafts
    # and scheduled posts without it (README, "Performance").
    "plugins.reading_time",
    "plugins.json_feed",
    "plugins.feed_stylesheet",
    "plugins.forms",
    "plugins.content_check",
    # Before events and intern_calls, so a scheduled training or call keeps its draft address.
    "plugins.scheduled",
    "plugins.events",
    "plugins.intern_calls",
    # Approved readers' comments under posts, their feeds and counts (after events).
    "plugins.comments",
    # Reads stale content on every core; remembers typogrify's output between builds.
    "plugins.fastread",
    # `{{ 'css/site.css'|asset_url }}` in templates; publishconf.py turns on hashed names.
    "plugins.asset_names",
    # Indexes the built pages for /search/ with Pagefind (the pinned binary).
    "plugins.search",
    # The browser editor at /admin/ (Decap CMS), configured from the content fields.
    "plugins.cms",
]

# Full-text search (plugins/search): the index is written to output/pagefind/ on every
# build; `make serve` refreshes it after the page has reloaded.
SEARCH = {"enabled": True}

# Posts and pages dated in the future (plugins/scheduled) are drafts until "now" reaches
# their Date. None means the build time; SITE_NOW (an ISO date-time) overrides it.
SCHEDULED = {"now": os.environ.get("SITE_NOW") or None}

# Trainings and events (plugins/events). "now" splits upcoming from past: None means
# the build time; SITE_NOW (an ISO date-time such as 2013-08-01T12:00) overrides it.
EVENTS = {
    "section": "trainings",
    "now": os.environ.get("SITE_NOW") or None,
    "home_count": 3,
    "registration_form": "training-registration",
}

# Intern calls (plugins/intern_calls): open until the end of their Apply_By day.
INTERN_CALLS = {
    "section": "internships",
    "now": os.environ.get("SITE_NOW") or None,
    "application_form": "intern-application",
}

# Readers' comments on posts (plugins/comments): open for `close_after_days` after a
# post's date unless its `Comments:` field says closed or none. The build reads the
# approved ones from the endpoint's database beside it ("database"); publishconf.py
# fetches them from the live endpoint ("https", with COMMENTS_TOKEN in the environment).
COMMENTS = {"close_after_days": 90, "source": "database"}

# Build-time check of every content file (plugins/content_check): any problem stops
# the build with one report naming file, line, field and fix. The fields each kind
# of content may have are listed in plugins/content_fields.py; add the site's own
# field names here (e.g. ["Subtitle"]) to allow them in every kind.
CONTENT_CHECK = {"enabled": True, "extra_fields": []}

# The browser editor at /admin/ (plugins/cms; README, "Writing from the browser"): its
# fields, widgets and required marks come from plugins/content_fields.py. Here, with
# `make serve`, it reads and writes content/ through the dev server's local backend at
# this address: no git, no login. publishconf.py switches it to GitHub.
CMS = {"local_backend": f"{SITEURL}/api/v1"}

# Forms (plugins/forms): where the built pages post, and where the definitions live.
# `make serve` runs the endpoint here; publishconf.py reads FORMS_ENDPOINT.
FORMS = {
    "endpoint": os.environ.get("FORMS_ENDPOINT", "http://127.0.0.1:8001"),
    "directory": "forms",
}

SITEMAP = {
    "format": "xml",
    "priorities": {"articles": 0.7, "indexes": 0.5, "pages": 0.6},
    "changefreqs": {"articles": "monthly", "indexes": "daily", "pages": "monthly"},
    # The editor (plugins/cms) is no page for search engines either.
    "exclude": ["^404\\.html$", "^robots\\.txt$", "^admin/"],
}

# Navigation, in the order readers see it. (title, url relative to SITEURL)
MAIN_MENU = [
    ("Blog", "blog/"),
    ("Trainings", "trainings/"),
    ("Internships", "internships/"),
    ("Knowledge donors", "knowledge-donors/"),
    ("About", "about/"),
]
DISPLAY_PAGES_ON_MENU = False
DISPLAY_CATEGORIES_ON_MENU = False

# Introductions for category, tag and author pages, by slug. A term without
# one gets a plain sentence; add a line here when you add a new tag.
TAXONOMY_DESCRIPTIONS = {
    "category": {
        "blog": "Ideas, announcements and lessons learned from the volunteers who run "
        "the network: how unions and community groups can organize online, and what "
        "we are doing next.",
        "trainings": "Announcements of our day-long trainings and the annual conference: "
        "what each covers, who it is for, and how to take part.",
        "internships": "Calls for interns: what the work is, who supervises it, and how "
        "and by when to apply.",
    },
    "tag": {
        "conference": "Our annual conference, where organizers from unions and community "
        "groups meet to trade what works online.",
        "training": "Hands-on trainings in the online tools organizers use every day.",
        "email-lists": "Building, sharing and using e-mail lists to move people to act.",
        "crm": "Supporter databases (CRMs): what they are for and how groups can share them.",
        "elections": "Local races, primaries and recalls, and how online organizing can "
        "reach the voters who decide them.",
        "data": "Voter files, list matching and the careful use of supporters' data.",
        "internships": "Internships with the network, and what former interns learned.",
    },
    "author": {
        "charles-lenchner": "Charles Lenchner founded Organizing 2.0. He has spent years "
        "helping unions and community groups use e-mail, social media and the web to "
        "organize, and writes here about ideas the network wants to try.",
    },
}

# Pelican's reader-level content cache speeds up development rebuilds.
CACHE_CONTENT = True
LOAD_CONTENT_CACHE = True
CONTENT_CACHING_LAYER = "reader"
CACHE_PATH = "cache"
# Uncompressed: gzip made every build about 1.3 s slower (README, "Performance").
GZIP_CACHE = False

# Drafts are previewed locally but never published (publishconf drops them).
DEFAULT_METADATA = {"status": "published"}
