"""HTTP plumbing for the endpoint's WSGI app: responses, errors, CORS and request bodies.

Nothing here knows about forms or submissions: `app.py` routes, `submissions.py` runs
the submission flow, and both speak in `Response` and `HTTPError`.
"""

from __future__ import annotations

import codecs
import json
import logging
import re
from html import escape
from urllib.parse import parse_qsl

log = logging.getLogger("endpoint")

# JSON may escape half of a surrogate pair (\ud800): no text encoding can hold it.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

STATUS_TEXT = {
    200: "200 OK",
    204: "204 No Content",
    303: "303 See Other",
    400: "400 Bad Request",
    403: "403 Forbidden",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    409: "409 Conflict",
    413: "413 Content Too Large",
    415: "415 Unsupported Media Type",
    422: "422 Unprocessable Content",
    429: "429 Too Many Requests",
    500: "500 Internal Server Error",
    503: "503 Service Unavailable",
}
# Sent with every answer: nothing personal is cached, nothing is sniffed.
COMMON_HEADERS = (
    ("Vary", "Origin, Accept"),
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
)


class HTTPError(Exception):
    """An early answer: status and a message for the person (or script) that sent it."""

    def __init__(self, status: int, message: str, headers=()):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = list(headers)


class Response:
    """Status, headers and body bytes, plus work to run once the body is sent."""

    def __init__(self, status: int, body: bytes = b"", content_type=None, headers=()):
        self.status = status
        self.body = body
        self.headers = list(headers)
        if content_type:
            self.headers.append(("Content-Type", content_type))
        self.after = None

    @classmethod
    def json(cls, status: int, data, headers=()) -> Response:
        """A JSON response."""
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        return cls(status, body, "application/json; charset=utf-8", headers)

    @classmethod
    def html(cls, status: int, page: str, headers=()) -> Response:
        """An HTML response."""
        return cls(status, page.encode("utf-8"), "text/html; charset=utf-8", headers)


class ResponseBody:
    """The WSGI body of a response with work after it; the server calls close() after
    sending it, which runs `after`.

    Not a list: granian sends a list at once and never calls its close(). An iterable
    takes granian's streaming path instead, which cost a quarter of the throughput
    under load (issue 11), so a response with nothing to run after is sent as a list.
    """

    def __init__(self, chunks, after=None):
        self._chunks = chunks
        self._after = after

    def __iter__(self):
        return iter(self._chunks)

    def close(self):
        """Run the post-response work (the notification e-mail) exactly once."""
        after, self._after = self._after, None
        if after is not None:
            try:
                after()
            except Exception as error:  # noqa: BLE001 - the answer is already sent
                log.warning("endpoint: after-response work failed (%s)", type(error).__name__)


def send(response: Response, start_response, cors_origin: str | None = None) -> ResponseBody:
    """Hand `response` to the WSGI server, with the common headers and CORS when allowed."""
    headers = response.headers
    if cors_origin:
        headers += [
            ("Access-Control-Allow-Origin", cors_origin),
            ("Access-Control-Expose-Headers", "Retry-After"),
        ]
    headers += [*COMMON_HEADERS, ("Content-Length", str(len(response.body)))]
    start_response(STATUS_TEXT[response.status], headers)
    if response.after is None:
        return [response.body]
    return ResponseBody([response.body], response.after)


def preflight(allowed: bool, allow: str) -> Response:
    """Answer a CORS preflight; only allowed origins get the Access-Control headers."""
    if not allowed:
        raise HTTPError(403, "This origin may not use the form endpoint.")
    return Response(
        204,
        headers=[
            ("Allow", allow),
            ("Access-Control-Allow-Methods", allow),
            ("Access-Control-Allow-Headers", "Content-Type, Accept"),
            ("Access-Control-Max-Age", "600"),
        ],
    )


BACK_TO_FORM = "Use your browser's Back button to return to the form."


def notice_page(title: str, paragraphs, site_url: str, extra_html: str = "") -> str:
    """A short HTML page in the site's style: the title, the paragraphs, then `extra_html`
    (a form's button, say)."""
    body = "".join(f"<p>{escape(text)}</p>\n" for text in paragraphs)
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="robots" content="noindex">\n'
        f"<title>{escape(title)}</title>\n"
        f'<link rel="stylesheet" href="{escape(site_url)}/theme/css/site.css">\n'
        '</head>\n<body>\n<main id="main" class="wrap">\n'
        f"<h1>{escape(title)}</h1>\n{body}{extra_html}"
        "</main>\n</body>\n</html>\n"
    )


def error_response(error: HTTPError, wants_json: bool, site_url: str) -> Response:
    """An error as JSON or as a short HTML page."""
    if wants_json:
        return Response.json(error.status, {"ok": False, "error": error.message}, error.headers)
    title = "Your form was not sent" if error.status >= 400 else "Notice"
    page = notice_page(title, [error.message, BACK_TO_FORM], site_url)
    return Response.html(error.status, page, error.headers)


def log_unexpected(error: Exception) -> None:
    """Log an unexpected error by type and place, never its message (it may quote input)."""
    frame = error.__traceback__
    while frame.tb_next:
        frame = frame.tb_next
    log.error(
        "endpoint: unexpected %s at %s:%d; answered 500",
        type(error).__name__,
        frame.tb_frame.f_code.co_filename.rpartition("/")[2],
        frame.tb_lineno,
    )


def application_uri(environ) -> str:
    """scheme://host[:port]/script-name of this app, as the request addressed it."""
    from wsgiref.util import application_uri as uri

    return uri(environ)


# --- Request bodies ----------------------------------------------------------------


def read_body(environ, max_bytes: int, max_fields: int) -> dict[str, list]:
    """The submitted fields as {name: [values]}; raises HTTPError for a bad body.

    A body without Content-Length (Transfer-Encoding: chunked) is read to its end when
    the server says the stream ends there (`wsgi.input_terminated`, as granian and
    apig-wsgi do), capped at `max_bytes`.
    """
    length_header = (environ.get("CONTENT_LENGTH") or "").strip()
    stream = environ.get("wsgi.input")
    if length_header:
        try:
            length = int(length_header)
        except ValueError:
            raise HTTPError(400, "The request has a broken Content-Length.") from None
        if length < 0:
            raise HTTPError(400, "The request has a broken Content-Length.")
        if length > max_bytes:
            raise HTTPError(413, f"The form is too large (over {max_bytes} bytes).")
        body = stream.read(length) if stream and length else b""
    elif stream is not None and environ.get("wsgi.input_terminated"):
        body = stream.read(max_bytes + 1)
        if len(body) > max_bytes:
            raise HTTPError(413, f"The form is too large (over {max_bytes} bytes).")
    elif "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        # A server that cannot say where a chunked body ends: refuse rather than guess.
        raise HTTPError(400, "Send the form with a Content-Length.")
    else:
        body = b""

    media_type, _, params = environ.get("CONTENT_TYPE", "").partition(";")
    media_type = media_type.strip().lower()
    charset = "utf-8"
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"').lower()
    try:
        codecs.lookup(charset)
    except LookupError:
        raise HTTPError(415, "Send the form in UTF-8.") from None

    if media_type == "application/json" or media_type.endswith("+json"):
        return parse_json(body, charset, max_fields)
    if media_type in ("", "application/x-www-form-urlencoded"):
        return parse_urlencoded(body, charset, max_fields)
    raise HTTPError(415, "Send the form urlencoded or as JSON.")


def parse_urlencoded(body: bytes, charset: str, max_fields: int) -> dict[str, list]:
    """Parse an urlencoded body, capping the number of fields."""
    try:
        text = body.decode(charset)
    except (UnicodeDecodeError, LookupError):
        raise HTTPError(400, f"The form is not valid {charset} text.") from None
    try:
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            encoding=charset,
            errors="replace",
            max_num_fields=max_fields,
        )
    except ValueError:
        raise HTTPError(413, "The form has too many fields.") from None
    data: dict[str, list] = {}
    for name, value in pairs:
        data.setdefault(name, []).append(value)
    return data


def parse_json(body: bytes, charset: str, max_fields: int) -> dict[str, list]:
    """Parse a JSON object body: strings, lists of strings, booleans, numbers, null."""
    try:
        document = json.loads(body.decode(charset))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise HTTPError(400, "The form is not valid JSON.") from None
    if not isinstance(document, dict):
        raise HTTPError(400, "Send the fields as one JSON object.")
    data: dict[str, list] = {}
    count = 0
    for name, raw in document.items():
        items = raw if isinstance(raw, list) else [raw]
        count += max(1, len(items))
        if count > max_fields:
            raise HTTPError(413, "The form has too many fields.")
        values = []
        for item in items:
            if item is None or item is False:
                continue
            if item is True:
                values.append("yes")
            elif isinstance(item, str):
                values.append(_LONE_SURROGATE.sub("\ufffd", item))
            elif isinstance(item, int | float):
                values.append(json.dumps(item))
            else:
                # Nested objects cannot be any field's value; validation reports it.
                values.append(None)
        data[_LONE_SURROGATE.sub("\ufffd", name)] = values
    return data
