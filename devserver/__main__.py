"""python -m devserver: the same server as `invoke serve`, for any settings file."""

import argparse
from pathlib import Path

from .server import serve


def main(argv=None):
    """Parse the command line and run the dev server until Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m devserver", description="Preview the site with live reload."
    )
    parser.add_argument("--settings", default="pelicanconf.py", help="Pelican settings file")
    parser.add_argument("--content", help="content folder (default: the settings' PATH)")
    parser.add_argument("--output", help="output folder (default: output/ beside the settings)")
    parser.add_argument("--cache", help="content cache folder (default: the settings' CACHE_PATH)")
    parser.add_argument("--port", type=int, default=8000, help="port of the site (8000)")
    parser.add_argument(
        "--endpoint-port", type=int, default=8001, help="port of the forms endpoint"
    )
    parser.add_argument("--no-endpoint", action="store_true", help="do not start the endpoint")
    args = parser.parse_args(argv)
    settings = Path(args.settings).resolve()
    serve(
        root=settings.parent,
        settings=settings,
        port=args.port,
        endpoint_port=args.endpoint_port,
        start_endpoint=not args.no_endpoint,
        content=args.content,
        output=args.output,
        cache=args.cache,
    )


if __name__ == "__main__":
    main()
