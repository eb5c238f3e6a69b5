"""The `asset_url` Jinja filter and the hashed copies written at the end of a build."""

import functools
import hashlib
import logging
from pathlib import Path

from pelican import signals

from plugins.content_meta import merged_setting

logger = logging.getLogger(__name__)

DEFAULTS = {"hash": False, "folder": "assets"}
HASHED_SUFFIXES = (".css", ".js")


class AssetNamesSettingsError(ValueError):
    """ASSET_NAMES is malformed or a template names a missing file; the message says which."""


def check_settings(settings) -> dict:
    """ASSET_NAMES merged over the defaults; raises AssetNamesSettingsError when malformed."""
    config = merged_setting(
        settings, "ASSET_NAMES", "asset_names", DEFAULTS, AssetNamesSettingsError
    )
    if not isinstance(config["hash"], bool):
        raise AssetNamesSettingsError("asset_names: ASSET_NAMES['hash'] must be True or False")
    folder = config["folder"]
    if not isinstance(folder, str) or not folder.strip("/") or ".." in folder.split("/"):
        raise AssetNamesSettingsError(
            f"asset_names: ASSET_NAMES['folder'] must be a folder inside the output, "
            f"such as 'assets', not {folder!r}"
        )
    config["folder"] = folder.strip("/")
    return config


def _static_files(settings):
    """{path inside the theme's static folder: source file}, as Pelican copies them."""
    files = {}
    for static in settings.get("THEME_STATIC_PATHS", ["static"]):
        base = Path(settings["THEME"], static)
        for source in sorted(base.rglob("*")) if base.is_dir() else ():
            if source.is_file():
                files[source.relative_to(base).as_posix()] = source
    return files


def _hashed(path: str, data: bytes) -> str:
    """`css/site.css` -> `css/site.<first 10 hex digits of its SHA-256>.css`."""
    stem, dot, suffix = path.rpartition(".")
    return f"{stem}.{hashlib.sha256(data).hexdigest()[:10]}{dot}{suffix}"


def asset_path(settings, path: str) -> str:
    """The address, relative to SITEURL, of the theme's static file `path` (`css/site.css`)."""
    config = check_settings(settings)
    source = _static_files(settings).get(path.strip("/"))
    if source is None:
        raise AssetNamesSettingsError(
            f"asset_names: a template asks for {path!r}, which is not in the theme's "
            f"static folder ({', '.join(settings.get('THEME_STATIC_PATHS', ['static']))})"
        )
    path = path.strip("/")
    if config["hash"] and source.suffix in HASHED_SUFFIXES:
        return f"{config['folder']}/{_hashed(path, source.read_bytes())}"
    return f"{settings.get('THEME_STATIC_DIR', 'theme')}/{path}"


def add_filter(generator):
    """generator_init: give this generator's templates the `asset_url` filter.

    Remembered per generator: every page asks for the same few files.
    """
    generator.env.filters["asset_url"] = functools.cache(
        functools.partial(asset_path, generator.settings)
    )


def write_hashed_copies(pelican):
    """finalized: write each theme stylesheet and script under its hashed name."""
    config = check_settings(pelican.settings)
    if not config["hash"]:
        return
    for path, source in _static_files(pelican.settings).items():
        if source.suffix in HASHED_SUFFIXES:
            data = source.read_bytes()
            target = Path(pelican.output_path, config["folder"], _hashed(path, data))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            logger.info("asset_names: wrote %s", target)


def check_at_start(pelican):
    """initialized: stop the build at once on a malformed ASSET_NAMES."""
    check_settings(pelican.settings)


def register():
    """Connect asset_names to Pelican's signals."""
    signals.initialized.connect(check_at_start)
    signals.generator_init.connect(add_filter)
    signals.finalized.connect(write_hashed_copies)
