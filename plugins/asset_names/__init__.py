"""asset_names: content-hashed file names for the theme's stylesheet and scripts.

Templates write ``{{ SITEURL }}/{{ 'css/site.css'|asset_url }}`` (the path inside the
theme's static folder). Setting (optional)::

    ASSET_NAMES = {
        "hash": False,       # True (publishconf.py): point at the hashed copies
        "folder": "assets",  # where the hashed copies go in the output
    }

With "hash" off (`make serve`) the filter gives the plain file, ``theme/css/site.css``,
so the development build is unchanged. With it on, it gives
``assets/css/site.<hash>.css``, and every stylesheet and script of the theme is
written there at the end of the build: a new file gets a new name, so the folder can
be cached for a year. The plain files stay too (the endpoint's pages use them).
Hashed copies live in a folder of their own, so a host needs one cache rule for them
(plugins/host_headers). It has the theme folder's depth, so a script's relative import
(``../../pagefind/pagefind.js``) still works; a stylesheet's ``url(../img/...)`` would not.
"""

from .plugin import asset_path, register

__all__ = ["asset_path", "register"]
