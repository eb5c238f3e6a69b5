"""fastbuild: render pages on every core, and only the changed ones in development.

Setting (all keys optional)::

    FASTBUILD = {
        "workers": 0,              # processes rendering pages; 0 = one per core
        "min_parallel_pages": 64,  # below this, render in-process
        "incremental": False,      # skip unchanged pages (the dev server sets it)
    }

The plugin provides a Writer through Pelican's `get_writer` signal and a last
generator that renders the pages the writer has collected. See writer.py.
"""

import logging

from pelican.generators import StaticGenerator
from pelican.plugins import signals
from pelican.utils import sanitised_join

from .writer import DEFAULTS, LAST_STATS, FastWriter, abandon, active_writer, forget

__all__ = ["LAST_STATS", "FastWriter", "abandon", "forget", "register"]

logger = logging.getLogger(__name__)

_static_outputs = []


class FastbuildSettingsError(ValueError):
    """FASTBUILD holds an unknown key or a value of the wrong type."""


def check_settings(pelican):
    """Stop the build with a clear message when FASTBUILD is malformed."""
    options = pelican.settings.get("FASTBUILD") or {}
    if not isinstance(options, dict):
        raise FastbuildSettingsError("fastbuild: FASTBUILD must be a dict, e.g. {'workers': 2}")
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise FastbuildSettingsError(
            f"fastbuild: unknown FASTBUILD key(s) {', '.join(unknown)}; "
            f"known keys: {', '.join(sorted(DEFAULTS))}"
        )
    for key in ("workers", "min_parallel_pages"):
        value = options.get(key, DEFAULTS[key])
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise FastbuildSettingsError(
                f"fastbuild: FASTBUILD['{key}'] must be a whole number >= 0, not {value!r}"
            )
    if not isinstance(options.get("incremental", False), bool):
        raise FastbuildSettingsError("fastbuild: FASTBUILD['incremental'] must be True or False")


def get_writer(pelican):
    """Pelican's `get_writer` signal: our Writer class."""
    return FastWriter


class RenderPagesGenerator:
    """Runs after the content generators and renders the pages they recorded."""

    def __init__(self, *args, **kwargs):
        pass

    def generate_output(self, writer):
        """Render (in parallel when worth it) every page recorded so far."""
        if isinstance(writer, FastWriter):
            writer.flush()


def add_generator(pelican):
    """Pelican's `get_generators` signal."""
    return RenderPagesGenerator


def remember_static_outputs(generators):
    """Note every static file's output path, so a removed one can be cleaned up."""
    _static_outputs.clear()
    for generator in generators:
        if isinstance(generator, StaticGenerator):
            for item in generator.staticfiles:
                if item.save_as:
                    _static_outputs.append(sanitised_join(generator.output_path, item.save_as))


def finish(pelican):
    """Pelican's `finalized` signal: render leftovers, remove stale files, log."""
    writer = active_writer()
    if writer is None:
        return
    writer.finish(_static_outputs)
    stats = writer.stats
    logger.info(
        "fastbuild: %d files rendered, %d unchanged, %d removed",
        stats["rendered"],
        stats["skipped"],
        stats["removed"],
    )


def register():
    """Connect fastbuild to Pelican's signals."""
    signals.initialized.connect(check_settings)
    signals.get_writer.connect(get_writer)
    signals.get_generators.connect(add_generator)
    signals.all_generators_finalized.connect(remember_static_outputs)
    signals.finalized.connect(finish)
