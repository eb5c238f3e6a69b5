"""The sample content built with publishconf.py, as `invoke publish --dry-run` builds it."""

import os

import pytest
from pelican.settings import read_settings

from devserver.static_host import serving
from plugins.host_headers.plugin import headers_file
from tests.helpers import ROOT, SAMPLE_CONTENT, endpoint_process, free_port, run_pelican

PUBLISH_SETTINGS = ROOT / "publishconf.py"
# After the intern call opens and before the training: both pages show their form.
SITE_NOW = "2013-08-10T12:00"


@pytest.fixture(scope="session")
def endpoint_url():
    """Where the published pages post: a port the endpoint fixture starts on."""
    return f"http://127.0.0.1:{free_port()}"


def publish_build(output, site_url, endpoint_url):
    """Build the sample content into `output` with publishconf.py at `site_url`."""
    environment = {"SITEURL": site_url, "FORMS_ENDPOINT": endpoint_url, "SITE_NOW": SITE_NOW}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        run_pelican(SAMPLE_CONTENT, output, settings=PUBLISH_SETTINGS)


@pytest.fixture(scope="session")
def published(tmp_path_factory, endpoint_url):
    """(folder, base URL): the publish build served the way a static host serves it.

    The host reads `_headers` when it starts and the pages need the host's address, so
    `_headers` is written first from the same settings (it names no site address), and
    the build, which writes it again, follows.
    """
    folder = tmp_path_factory.mktemp("publish") / "public"
    folder.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FORMS_ENDPOINT", endpoint_url)
        expected_headers = headers_file(read_settings(str(PUBLISH_SETTINGS)))
    (folder / "_headers").write_text(expected_headers, encoding="utf-8")
    with serving(folder) as base_url:
        publish_build(folder, base_url.rstrip("/"), endpoint_url)
        assert (folder / "_headers").read_text(encoding="utf-8") == expected_headers
        yield folder, base_url


@pytest.fixture(scope="session")
def live_endpoint(published, endpoint_url, tmp_path_factory):
    """The form endpoint on loopback, accepting the published pages' origin."""
    _, base_url = published
    folder = tmp_path_factory.mktemp("publish-endpoint")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder / 'submissions.sqlite3'}",
        "SITE_URL": base_url.rstrip("/"),
        "ALLOWED_ORIGINS": base_url.rstrip("/"),
        "FORMS_SECRET": "publish-secret",
        "IP_HASH_SALT": "publish-salt",
        "SMTP_HOST": "",
    }
    port = int(endpoint_url.rsplit(":", 1)[1])
    with endpoint_process(port, env, folder / "endpoint.log"):
        yield endpoint_url
