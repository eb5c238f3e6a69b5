"""Pelican settings for the live site (`make publish`).

Everything in pelicanconf.py applies; this file changes only what must differ
when the site is published.
"""

import os

from pelicanconf import *  # noqa: F403

# The public address: every link and feed entry is absolute. `invoke publish` refuses
# these example.org placeholders; set SITEURL and FORMS_ENDPOINT in the environment.
SITEURL = os.environ.get("SITEURL", "https://organizing20.example.org")
RELATIVE_URLS = False
FEED_DOMAIN = SITEURL
TIMEZONE = "America/New_York"

# Its own folder, so publishing never touches the preview's output/ (`make serve`).
OUTPUT_PATH = "public"
# A clean publish: no cache read or written (cache/ is the preview's), old files
# removed, drafts left out.
DELETE_OUTPUT_DIRECTORY = True
LOAD_CONTENT_CACHE = False
CACHE_CONTENT = False
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
    "github_remote": os.environ.get("PUBLISH_GITHUB_REMOTE", "origin"),
    "github_branch": os.environ.get("PUBLISH_GITHUB_BRANCH", "gh-pages"),
    "s3_bucket": os.environ.get("PUBLISH_S3_BUCKET", ""),
}

# The editor at /admin/ on the live site signs in with GitHub through the form
# endpoint's OAuth routes, and every change becomes a pull request an organizer merges.
# The repository is GITHUB_REPOSITORY (owner/name; GitHub Actions sets it); without it no
# editor is written. The branch is the one whose pushes publish (.github/workflows/).
CMS = {
    **CMS,  # noqa: F405
    "local_backend": None,
    "repo": os.environ.get("GITHUB_REPOSITORY", ""),
    "branch": "main",
    "publish_mode": "editorial_workflow",
}

# What only the published site needs: hashed names for the stylesheet and scripts
# (plugins/asset_names), the hosts' headers (plugins/host_headers: `_headers` and
# `.nginx.conf`), and a .gz and .br copy beside every text file, which hosts send to
# browsers that accept them (pelican-precompress; it runs after every other plugin).
ASSET_NAMES = {"hash": True}
PLUGINS = [*PLUGINS, "plugins.host_headers", "pelican.plugins.precompress"]  # noqa: F405
PRECOMPRESS_GZIP = True
PRECOMPRESS_BROTLI = True
PRECOMPRESS_ZSTANDARD = False
PRECOMPRESS_TEXT_EXTENSIONS = {
    ".atom", ".css", ".html", ".ics", ".js", ".json", ".svg", ".txt", ".xml", ".xsl",
}  # fmt: skip

# Approved comments come from the live endpoint, with the token COMMENTS_TOKEN (README,
# "Comments on posts"; a repository secret for the workflow). Without the token the
# published pages carry no comments; the endpoint's live fetch still shows them.
COMMENTS = {
    **COMMENTS,  # noqa: F405
    "source": "https" if os.environ.get("COMMENTS_TOKEN") else "none",
}
