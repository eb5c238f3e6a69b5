"""The development server: live-reloading preview with fast incremental rebuilds.

`invoke serve` (and `make serve`) call `serve()`; `python -m devserver --help`
runs it directly. See server.py for what it does, worker.py for the warm
Pelican it drives and errorpage.py for the page a failed build shows.
"""

from .server import serve

__all__ = ["serve"]
