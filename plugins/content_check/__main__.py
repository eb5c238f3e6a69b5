"""`python -m plugins.content_check [pelicanconf.py]`: only the content check, for writers.

Exit status 0 when every file is fine, 1 with the report otherwise.
"""

import sys
from pathlib import Path

from pelican.settings import read_settings

from .checker import (
    check_content,
    find_content_files,
    format_left_out,
    format_report,
    left_out,
)


def main(argv=None) -> int:
    """Run the check with the given settings file (default: pelicanconf.py)."""
    argv = sys.argv[1:] if argv is None else argv
    settings_file = Path(argv[0] if argv else "pelicanconf.py")
    overrides = {"PATH": argv[1]} if len(argv) > 1 else None
    settings = read_settings(str(settings_file), override=overrides)
    problems = check_content(settings)
    if problems:
        print(format_report(problems), file=sys.stderr)
        return 1
    files = find_content_files(settings)
    print(f"Content check: all {len(files)} content files are fine.")
    summary = format_left_out(left_out(settings, files))
    if summary:
        print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
