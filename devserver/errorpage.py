"""The page the dev server answers with while the latest build has failed.

It stands in for every HTML page (the writer's open tab included), so the
report is where the writer is looking, not only in the terminal. It is one
self-contained document: inline style, no request to anything but the dev
server's own live-reload script, which takes the tab back to the real page as
soon as a build succeeds. With JavaScript off a refresh every few seconds does
the same.
"""

import html
import re

# "content/blog/x.md:3: Tags: ..." - a content check problem (see content_check).
_LOCATED = re.compile(r"^(?P<where>\S[^:\n]*:\d+): (?P<what>.+)$")

NO_SCRIPT_REFRESH_SECONDS = 2

_STYLE = """\
:root { --text: #1b1b1f; --bg: #fdfdfc; --muted: #4a4a55;
  --edge: #9e2a2b; --panel: #fbeeee; --code: #6b1d1e; }
@media (prefers-color-scheme: dark) {
  :root { --text: #ececf1; --bg: #16161a; --muted: #b9b9c6; --edge: #ff8a80;
    --panel: #2a1b1c; --code: #ffd0cc; }
}
body { margin: 0; background: var(--bg); color: var(--text);
  font: 1rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 52rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.6rem; line-height: 1.25; margin: 0 0 0.5rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 0.5rem; }
p { margin: 0 0 0.75rem; }
.note { color: var(--muted); }
.report { border-left: 0.3rem solid var(--edge); background: var(--panel);
  padding: 0.75rem 1rem; border-radius: 0.3rem; }
.report h2 { margin-top: 0; }
.report p { font-weight: 600; }
ol { margin: 0; padding-left: 1.5rem; }
li { margin: 0.4rem 0; }
code, pre { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.92em; }
code { color: var(--code); overflow-wrap: anywhere; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0 0 1rem; }
"""


def _problem(line):
    """One report line; a `path:line:` location is set apart so it stands out."""
    found = _LOCATED.match(line)
    if not found:
        return html.escape(line)
    return f"<code>{html.escape(found['where'])}</code>: {html.escape(found['what'])}"


def render(error, logged=(), build=0):
    """The error page (UTF-8 bytes) for a failed build.

    `error` is the worker's report: a content check report (a summary line, then
    one `path:line: field: message` line per problem) or an exception's message.
    `logged` holds the warnings and errors logged during that build, and `build`
    the build number the live-reload script starts from.
    """
    lines = [line for line in str(error).splitlines() if line.strip()] or [
        "The build failed without a message; see the terminal."
    ]
    summary, problems = (lines[0], lines[1:]) if len(lines) > 1 else (None, lines)
    parts = [
        "<!doctype html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="color-scheme" content="light dark">',
        "<title>The site could not be built</title>",
        # Only without JavaScript; with it, the live-reload script waits for the fix.
        f'<noscript><meta http-equiv="refresh" content="{NO_SCRIPT_REFRESH_SECONDS}"></noscript>',
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        "<main>",
        "<h1>The site could not be built</h1>",
        '<p class="note">The latest build failed, so the preview shows its report instead '
        "of the page. Fix what it lists and save: this page reloads by itself and shows "
        "the site again as soon as the files are fixed.</p>",
        '<section class="report" aria-labelledby="report-heading">',
        '<h2 id="report-heading">What went wrong</h2>',
    ]
    if summary:
        parts.append(f"<p>{html.escape(summary)}</p>")
    parts.append("<ol>")
    parts += [f"<li>{_problem(line)}</li>" for line in problems]
    parts.append("</ol>")
    parts.append("</section>")
    if logged:
        parts.append("<h2>Also logged during this build</h2>")
        parts.append("<pre>" + html.escape("\n".join(logged)) + "</pre>")
    parts += [
        '<p class="note">The terminal running the dev server shows the same report.</p>',
        "</main>",
        f'<script src="/__livereload.js" data-build="{int(build)}"></script>',
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(parts).encode("utf-8")
