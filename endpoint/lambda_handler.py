"""AWS Lambda entry point: adapts API Gateway and Function URL events to the WSGI app.

Handler: `endpoint.lambda_handler.handler`. Works with API Gateway REST (payload 1.0)
and HTTP APIs or Lambda Function URLs (payload 2.0). Standard library only; the app is
built once per container and reused across invocations.
"""

from __future__ import annotations

import base64
import io
import sys
from urllib.parse import urlencode

_app = None


def _get_app():
    global _app
    if _app is None:
        from .app import create_app

        _app = create_app()
    return _app


def _body_bytes(event) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body)
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def event_to_environ(event) -> dict:
    """A WSGI environ for an API Gateway (1.0 or 2.0) or Function URL event."""
    version = str(event.get("version", "1.0"))
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    context = event.get("requestContext") or {}
    if version.startswith("2"):
        http = context.get("http") or {}
        method = http.get("method", "GET")
        path = event.get("rawPath") or http.get("path") or "/"
        query = event.get("rawQueryString", "")
        source_ip = http.get("sourceIp", "")
        if event.get("cookies"):
            headers["cookie"] = "; ".join(event["cookies"])
    else:
        method = event.get("httpMethod", "GET")
        path = event.get("path") or "/"
        multi = event.get("multiValueQueryStringParameters")
        if multi:
            query = urlencode([(k, v) for k, values in multi.items() for v in values or []])
        else:
            query = urlencode(event.get("queryStringParameters") or {})
        source_ip = (context.get("identity") or {}).get("sourceIp", "")
        for key, values in (event.get("multiValueHeaders") or {}).items():
            if values:
                headers[str(key).lower()] = ", ".join(str(v) for v in values)

    body = _body_bytes(event)
    host = headers.get("host", "lambda")
    scheme = headers.get("x-forwarded-proto", "https")
    port = headers.get("x-forwarded-port", "443" if scheme == "https" else "80")
    environ = {
        "REQUEST_METHOD": method.upper(),
        "SCRIPT_NAME": "",
        # WSGI wants the raw path as latin-1-decoded bytes.
        "PATH_INFO": path.encode("utf-8").decode("latin-1"),
        "QUERY_STRING": query,
        "SERVER_NAME": host.split(":")[0],
        "SERVER_PORT": port,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": source_ip,
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": headers.get("content-type", ""),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in headers.items():
        if name in ("content-type", "content-length"):
            continue
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def call_wsgi(app, environ) -> tuple[int, list, bytes]:
    """Run a WSGI app to completion: (status code, headers, body)."""
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured["status"] = int(status.split(" ", 1)[0])
        captured["headers"] = headers

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        # Runs the after-response work (the notification e-mail) before Lambda freezes.
        if hasattr(result, "close"):
            result.close()
    return captured["status"], captured["headers"], body


def handler(event, context=None) -> dict:
    """The Lambda handler."""
    status, headers, body = call_wsgi(_get_app(), event_to_environ(event))
    response = {"statusCode": status}
    single, multi = {}, {}
    for name, value in headers:
        multi.setdefault(name, []).append(value)
        single[name] = value
    if str(event.get("version", "1.0")).startswith("2"):
        response["headers"] = {name: ", ".join(values) for name, values in multi.items()}
    else:
        response["headers"] = single
        response["multiValueHeaders"] = multi
    try:
        response["body"] = body.decode("utf-8")
        response["isBase64Encoded"] = False
    except UnicodeDecodeError:
        response["body"] = base64.b64encode(body).decode("ascii")
        response["isBase64Encoded"] = True
    return response
