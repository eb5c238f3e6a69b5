"""Build the headers from the settings and write `_headers` and the nginx example."""

import base64
import hashlib
import logging
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from urllib.parse import urlsplit

from pelican import signals

from plugins.asset_names.plugin import check_settings as asset_settings
from plugins.cms.plugin import check_settings as cms_settings
from plugins.cms.plugin import content_security_policy as editor_policy
from plugins.cms.plugin import editor_written
from plugins.content_meta import merged_setting
from plugins.feed_stylesheet.plugin import check_settings as feed_stylesheet_settings
from plugins.forms.plugin import check_settings as forms_settings

logger = logging.getLogger(__name__)

A_DAY = "public, max-age=86400"
A_YEAR = "public, max-age=31536000, immutable"
# Everything without a rule of its own: asked again each time (hosts answer 304).
REVALIDATE = "no-cache"
DEFAULTS = {
    "save_as": "_headers",
    "nginx_save_as": ".nginx.conf",
    "cache": {"/images/*": A_DAY, "/files/*": A_DAY, "/theme/img/*": A_DAY},
}
PERMISSIONS = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


class HostHeadersSettingsError(ValueError):
    """HOST_HEADERS is malformed; the message names the key and the fix."""


def check_settings(settings) -> dict:
    """HOST_HEADERS merged over the defaults; raises HostHeadersSettingsError when malformed."""
    config = merged_setting(
        settings, "HOST_HEADERS", "host_headers", DEFAULTS, HostHeadersSettingsError
    )
    for key in ("save_as", "nginx_save_as"):
        value = config[key]
        if not isinstance(value, str) or not value or value.startswith("/") or ".." in value:
            raise HostHeadersSettingsError(
                f"host_headers: HOST_HEADERS[{key!r}] must be a file name inside the output, "
                f"such as {DEFAULTS[key]!r}, not {value!r}"
            )
    cache = config["cache"]
    if not isinstance(cache, dict) or not all(
        isinstance(path, str) and path.startswith("/") and path.endswith("/*") for path in cache
    ):
        raise HostHeadersSettingsError(
            "host_headers: HOST_HEADERS['cache'] must map folders written as '/images/*' "
            f"to a Cache-Control value, such as {DEFAULTS['cache']!r}"
        )
    return config


def _inline_style_hashes(xsl_path: Path) -> list[str]:
    """CSP sources ('sha256-...') for the text of each <style> in an XSL stylesheet."""
    return [
        "'sha256-{}'".format(
            base64.b64encode(hashlib.sha256(element.text.encode("utf-8")).digest()).decode()
        )
        for element in ElementTree.parse(xsl_path).iter()
        if element.tag.rpartition("}")[2] == "style" and element.text
    ]


def content_security_policy(settings) -> str:
    """The site's CSP: its own origin, the forms endpoint, the feed stylesheet's styles."""
    endpoint = urlsplit(forms_settings(settings)["endpoint"])
    endpoint_origin = f"{endpoint.scheme}://{endpoint.netloc}"
    styles = _inline_style_hashes(feed_stylesheet_settings(settings)["source"])
    directives = {
        "default-src": ["'self'"],
        # Pagefind's search index is WebAssembly.
        "script-src": ["'self'", "'wasm-unsafe-eval'"],
        "style-src": ["'self'", *styles],
        "img-src": ["'self'"],
        "connect-src": ["'self'", endpoint_origin],
        "form-action": ["'self'", endpoint_origin],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def security_headers(settings) -> dict[str, str]:
    """{name: value} of the headers every response carries."""
    return {
        "Content-Security-Policy": content_security_policy(settings),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "Permissions-Policy": PERMISSIONS,
    }


def editor_headers(settings) -> tuple[str, dict[str, str]] | None:
    """("/admin/", headers) for the browser editor's folder when the build writes it.

    Decap CMS needs `'unsafe-eval'` and inline styles, which the site's policy refuses,
    and a second policy can only narrow the first: the folder gets its own.
    """
    config = cms_settings(settings)
    if not editor_written(config):
        return None
    policy = f"{editor_policy(config, settings)}; frame-ancestors 'none'"
    return f"/{config['save_as']}/", {
        **security_headers(settings),
        "Content-Security-Policy": policy,
    }


def cache_rules(settings) -> dict[str, str]:
    """{'/folder/*': Cache-Control}: a year for the hashed assets, then HOST_HEADERS['cache']."""
    hashed = f"/{asset_settings(settings)['folder']}/*"
    return {hashed: A_YEAR, **check_settings(settings)["cache"]}


def headers_file(settings) -> str:
    """The `_headers` file (Netlify, Cloudflare Pages).

    Those hosts join the values of a header that several matching rules set, so
    Cache-Control appears only under folders, never under `/*`; the rest gets the
    hosts' own default, which revalidates.
    """
    lines = ["# Written by plugins/host_headers at each publish build; edit that, not this.", "/*"]
    lines += [f"  {name}: {value}" for name, value in security_headers(settings).items()]
    for path, cache_control in cache_rules(settings).items():
        lines += [path, f"  Cache-Control: {cache_control}"]
    return "\n".join(lines) + "\n"


def nginx_conf(settings) -> str:
    """The same headers for nginx, to `include` inside the site's `server` block.

    The headers are set once for the server; each cache folder's location only changes
    the variable that Cache-Control reads (a location with an add_header of its own
    would drop the server's).
    """
    config = check_settings(settings)
    lines = [
        "# Written by plugins/host_headers at each publish build; edit that, not this.",
        f"# In the site's server block: include /PATH/TO/SITE/{config['nginx_save_as']};",
        "# then `nginx -s reload` after a publish that changes it. A location of your own",
        "# with an add_header drops these; repeat them there.",
        "error_page 404 /404.html;",
        "# The .gz copy beside each file (with the ngx_brotli module, also brotli_static on;).",
        "gzip_static on;",
    ]
    lines += [
        f'add_header {name} "{value}" always;' for name, value in security_headers(settings).items()
    ]
    lines += [
        "add_header Cache-Control $site_cache_control always;",
        f'set $site_cache_control "{REVALIDATE}";',
    ]
    for path, cache_control in cache_rules(settings).items():
        lines.append(
            f'location {path.removesuffix("*")} {{ set $site_cache_control "{cache_control}"; }}'
        )
    editor = editor_headers(settings)
    if editor:
        # A location's add_header replaces the server's: all of them again, one policy changed.
        folder, headers = editor
        lines.append(f"location {folder} {{")
        lines += [f'    add_header {name} "{value}" always;' for name, value in headers.items()]
        lines += ["    add_header Cache-Control $site_cache_control always;", "}"]
    lines += [
        "# Dotfiles, this one included, are not served (but /.well-known/ is).",
        r"location ~ /\.(?!well-known/) { return 404; }",
    ]
    return "\n".join(lines) + "\n"


def write_files(pelican):
    """finalized: write `_headers` and the nginx example at the output's root."""
    config = check_settings(pelican.settings)
    for key, text in (
        ("save_as", headers_file(pelican.settings)),
        ("nginx_save_as", nginx_conf(pelican.settings)),
    ):
        target = Path(pelican.output_path, config[key])
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        logger.info("host_headers: wrote %s", target)


def check_at_start(pelican):
    """initialized: stop the build at once on a malformed HOST_HEADERS."""
    check_settings(pelican.settings)


def register():
    """Connect host_headers to Pelican's signals."""
    signals.initialized.connect(check_at_start)
    signals.finalized.connect(write_files)
