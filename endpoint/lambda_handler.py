"""AWS Lambda entry point: the WSGI app behind apig-wsgi.

Handler: `endpoint.lambda_handler.handler`. apig-wsgi turns Lambda Function URL and
API Gateway HTTP API events (payload 2.0, base64 bodies included), API Gateway REST
events (payload 1.0) and ALB events into WSGI requests and the app's answers back
into Lambda responses. The app is built on the first event and reused by the warm
container; the notification e-mail (run when the body is closed) goes before the
invocation ends. The settings are read when the container starts: in production
(ENVIRONMENT=production or a PostgreSQL DATABASE_URL) a missing FORMS_SECRET or
IP_HASH_SALT stops it there, the SettingsError naming the variable in the init log.
"""

from __future__ import annotations

from apig_wsgi import make_lambda_handler

from .settings import Settings

# At import (the container's init): a missing secret fails the start, not a request.
_settings = Settings.from_env()
_app = None
_handler = None


def _application(environ, start_response):
    global _app
    if _app is None:
        from .app import create_app

        _app = create_app(_settings)
    return _app(environ, start_response)


def handler(event, context=None) -> dict:
    """The Lambda handler."""
    global _handler
    if _handler is None:
        # Our answers are all text (JSON, HTML, plain): apig-wsgi sends them as text.
        _handler = make_lambda_handler(_application)
    return _handler(event, context)
