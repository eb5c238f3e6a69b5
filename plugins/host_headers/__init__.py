"""host_headers: the HTTP headers of the published site, for the host to send.

One definition (plugin.py) writes two files into the output at the end of the build:

- ``_headers``, which Netlify and Cloudflare Pages read (and never serve);
- ``.nginx.conf``, the same headers for a server of one's own, to ``include`` in the
  site's nginx ``server`` block. A dotfile, so it is left out of a GitHub Pages
  upload, and the file itself tells nginx not to serve it.

The headers: a Content-Security-Policy that allows only the site's own origin, plus the
forms endpoint (FORMS["endpoint"]) for form posts and fetches, 'wasm-unsafe-eval' for
the search's WebAssembly, and the hash of each inline ``<style>`` of the feed
stylesheet (plugins/feed_stylesheet); X-Content-Type-Options, Referrer-Policy (pages
with a form widen it with their own ``<meta name="referrer">``, which browsers let
override the header), Permissions-Policy; and the cache lifetimes: a year for the
hashed stylesheet and scripts (plugins/asset_names), the "cache" table below for other
paths, and revalidation for everything else.

Setting (all keys optional; publishconf.py turns the plugin on)::

    HOST_HEADERS = {
        "save_as": "_headers",
        "nginx_save_as": ".nginx.conf",
        "cache": {"/images/*": "public, max-age=86400"},  # path: Cache-Control
    }
"""

from .plugin import register

__all__ = ["register"]
