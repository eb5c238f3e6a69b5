"""Pelican settings for the live site (`make publish`).

Everything in pelicanconf.py applies; this file changes only what must differ
when the site is published.
"""

import os

from pelicanconf import *  # noqa: F403

# The public address: every link and feed entry is absolute.
SITEURL = os.environ.get("SITEURL", "https://organizing20.example.org")
RELATIVE_URLS = False
FEED_DOMAIN = SITEURL
TIMEZONE = "America/New_York"

# A clean publish: no stale cache, old files removed, drafts left out.
DELETE_OUTPUT_DIRECTORY = True
LOAD_CONTENT_CACHE = False
DRAFT_SAVE_AS = ""
DRAFT_URL = ""
# Draft and scheduled pages and translations too: Pelican's defaults write them under drafts/.
DRAFT_LANG_SAVE_AS = ""
DRAFT_LANG_URL = ""
DRAFT_PAGE_SAVE_AS = ""
DRAFT_PAGE_URL = ""
DRAFT_PAGE_LANG_SAVE_AS = ""
DRAFT_PAGE_LANG_URL = ""

# The live form endpoint (see README, "Forms"); the dev default would be wrong here.
FORMS = {
    **FORMS,  # noqa: F405
    "endpoint": os.environ.get("FORMS_ENDPOINT", "https://forms.organizing20.example.org"),
}

# Where `make publish` uploads (tasks.py `publish`). The environment may set each one.
PUBLISH = {
    "target": os.environ.get("PUBLISH_TARGET", ""),  # rsync, github or s3
    "rsync_dest": os.environ.get("PUBLISH_RSYNC_DEST", ""),  # user@host:/var/www/site/
    "github_branch": os.environ.get("PUBLISH_GITHUB_BRANCH", "gh-pages"),
    "s3_bucket": os.environ.get("PUBLISH_S3_BUCKET", ""),
}
