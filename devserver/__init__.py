"""The development server: live-reloading preview with fast incremental rebuilds.

`invoke serve` (and `make serve`) call `serve()`; `python -m devserver --help`
runs it directly. See server.py for what it does and worker.py for the warm
Pelican it drives.
"""

from .server import serve

__all__ = ["serve"]
