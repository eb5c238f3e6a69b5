"""Rate limits: a room on one address gets through, a flood does not (README, "The endpoint's
limits"). App tests run on SQLite and PostgreSQL: the limits are counted in the database."""

import threading
from datetime import UTC, datetime

import pytest

from endpoint import abuse
from endpoint.settings import Settings, SettingsError
from endpoint.storage import open_storage
from endpoint.storage.base import Limit

from .conftest import FakeClock, valid

ROOM = "198.51.100.10"  # a training room's Wi-Fi: everyone behind one address
SCRIPT = "203.0.113.66"
# The limits as shipped (the test settings raise the per-address one for other tests).
DEFAULTS = {
    name: getattr(Settings, name)
    for name in (
        "rate_limit_per_hour",
        "rate_limit_burst",
        "junk_limit_per_hour",
        "email_limit_per_hour",
        "form_limit_per_hour",
    )
}
NOW = datetime(2027, 1, 4, 18, 0, tzinfo=UTC)


def person(number, **changes):
    """A valid knowledge-donor signup by person `number` (their own name and e-mail)."""
    mine = {"name": f"Person {number}", "email": f"p{number}@example.org", **changes}
    return valid("knowledge-donor", **mine)


def stored(client):
    return client.app.storage.submissions()


def buckets(storage):
    return storage._run(
        lambda c: storage._execute(c, "SELECT bucket FROM rate_limits ORDER BY 1").fetchall()
    )


@pytest.fixture
def limited(make_client, database_url):
    """Factory: a client with the shipped limits (and overrides), on both databases."""

    def build(clock=None, **overrides):
        return make_client(database_url=database_url, clock=clock, **{**DEFAULTS, **overrides})

    return build


def test_forty_registrations_from_one_address_are_accepted_while_a_flood_is_stopped(limited):
    clock = FakeClock()
    client = limited(clock=clock)
    # Someone in the room runs a bot first: honeypot and invalid posts from the same address.
    junk = [client.post("knowledge-donor", person(900, _hp="x"), REMOTE_ADDR=ROOM)]
    junk += [client.post("knowledge-donor", person(901, email="no"), REMOTE_ADDR=ROOM)]
    junk += [client.post("knowledge-donor", person(902, _hp="x"), REMOTE_ADDR=ROOM)]
    junk += [client.post("knowledge-donor", person(903, _hp="x"), REMOTE_ADDR=ROOM)]
    junk += [client.post("knowledge-donor", person(904, _hp="x"), REMOTE_ADDR=ROOM)]
    junk += [client.post("knowledge-donor", person(905, _hp="x"), REMOTE_ADDR=ROOM)]
    for number in range(40):
        junk.append(client.post("knowledge-donor", person(950 + number, _hp="x"), REMOTE_ADDR=ROOM))
    assert [answer.status for answer in junk].count(429) > 0  # the bot is stopped ...
    # ... and the 40 people in the room register within a little over three minutes.
    for number in range(40):
        clock.now += 5
        answer = client.post("knowledge-donor", person(number), REMOTE_ADDR=ROOM)
        assert answer.status == 200, (number, answer.text)
    assert len(stored(client)) == 40

    # A script floods from its own address with valid, distinct signups, 100 a second.
    statuses = []
    for number in range(1000, 1300):
        clock.now += 0.01
        statuses.append(client.post("knowledge-donor", person(number), REMOTE_ADDR=SCRIPT).status)
    burst = DEFAULTS["rate_limit_burst"]
    assert statuses[:burst] == [200] * burst
    assert statuses[burst:] == [429] * (300 - burst)
    assert len(stored(client)) == 40 + burst
    # The room was not affected by the flood.
    assert client.post("knowledge-donor", person(41), REMOTE_ADDR=ROOM).status == 200


def test_junk_has_its_own_smaller_allowance(limited):
    clock = FakeClock()
    client = limited(clock=clock, junk_limit_per_hour=3, rate_limit_per_hour=5, rate_limit_burst=5)
    honeypot = [client.post("knowledge-donor", person(n, _hp="x")).status for n in range(4)]
    assert honeypot == [200, 200, 200, 429]  # answered as success, until the bucket is empty
    invalid = client.post("knowledge-donor", person(9, consent=None))
    assert invalid.status == 429  # invalid posts spend the junk bucket too
    # Real people on the same address still have all five of theirs.
    assert [client.post("knowledge-donor", person(n)).status for n in range(10, 16)] == [
        *[200] * 5,
        429,
    ]
    assert len(stored(client)) == 5


def test_one_email_address_is_limited_from_any_address(limited):
    client = limited(email_limit_per_hour=3)
    for number in range(3):
        data = person(1, hours="1-4" if number % 2 else "5-10", region=f"Place {number}")
        answer = client.post("knowledge-donor", data, REMOTE_ADDR=f"192.0.2.{number + 1}")
        assert answer.status == 200
    refused = client.post("knowledge-donor", person(1, region="Again"), REMOTE_ADDR="192.0.2.9")
    assert refused.status == 429
    assert "e-mail address" in refused.json()["error"]
    assert refused.json()["ok"] is False
    # The address is not blamed for it; the e-mail check ignores case.
    assert client.post("knowledge-donor", person(2), REMOTE_ADDR="192.0.2.9").status == 200
    upper = person(1, email="P1@Example.org", region="Upper")
    assert client.post("knowledge-donor", upper, REMOTE_ADDR="192.0.2.10").status == 429


def test_the_form_ceiling_stops_a_flood_from_many_addresses(limited, caplog):
    client = limited(form_limit_per_hour=5)
    for number in range(5):
        answer = client.post("knowledge-donor", person(number), REMOTE_ADDR=f"192.0.2.{number}")
        assert answer.status == 200
    refused = client.post("knowledge-donor", person(7), REMOTE_ADDR="192.0.2.77")
    assert refused.status == 429
    assert "This form is receiving more submissions" in refused.json()["error"]
    assert "FORM_LIMIT_PER_HOUR" in caplog.text  # the organizers get to know
    # Another form is not affected.
    other = client.post("help-request", valid("help-request"), REMOTE_ADDR="192.0.2.77")
    assert other.status == 200


def test_a_refused_post_spends_none_of_its_limits(limited):
    client = limited(rate_limit_per_hour=2, rate_limit_burst=2, email_limit_per_hour=1)
    assert client.post("knowledge-donor", person(1)).status == 200
    # Refused for its e-mail address: the address's token it would have spent stays.
    assert client.post("knowledge-donor", person(1, region="Elsewhere")).status == 429
    assert client.post("knowledge-donor", person(2)).status == 200
    refused = client.post("knowledge-donor", person(3))
    assert refused.status == 429
    assert "from your network" in refused.json()["error"]
    assert sorted(row.email for row in stored(client)) == ["p1@example.org", "p2@example.org"]


def test_limits_refill_at_their_hourly_rate(limited):
    clock = FakeClock()
    client = limited(clock=clock, rate_limit_per_hour=60, rate_limit_burst=10)
    assert [client.post("knowledge-donor", person(n)).status for n in range(11)] == [
        *[200] * 10,
        429,
    ]
    refused = client.post("knowledge-donor", person(11))
    assert refused.headers["retry-after"] == "60"  # one a minute
    clock.now += 59
    assert client.post("knowledge-donor", person(12)).status == 429
    clock.now += 1
    assert client.post("knowledge-donor", person(13)).status == 200
    assert client.post("knowledge-donor", person(14)).status == 429
    clock.now += 3600  # an hour later the whole burst is back
    assert [client.post("knowledge-donor", person(n)).status for n in range(20, 31)] == [
        *[200] * 10,
        429,
    ]


def test_a_429_without_javascript_keeps_what_was_typed_and_claims_nothing(limited):
    client = limited(rate_limit_per_hour=1, rate_limit_burst=1)
    assert client.post("knowledge-donor", person(1)).status == 200
    data = person(2, name="Zoë <Organizer>", region="Queens, NY")
    answer = client.post("knowledge-donor", data, accept_json=False)
    assert answer.status == 429
    assert answer.headers["retry-after"] == "3600"
    assert answer.headers["content-type"].startswith("text/html")
    page = answer.text
    assert "Nothing was saved" in page and "in 60 minutes" in page
    assert "Thank you" not in page
    for typed in ("Zoë &lt;Organizer&gt;", "p2@example.org", "Queens, NY"):
        assert typed in page
    assert 'action="http://forms.test/forms/knowledge-donor"' in page
    js = client.post("knowledge-donor", data)
    assert js.status == 429 and js.json()["ok"] is False
    assert len(stored(client)) == 1


def test_the_rate_table_holds_hashes_and_forgets_full_buckets(limited):
    clock = FakeClock()
    client = limited(clock=clock)
    client.post("knowledge-donor", person(1), REMOTE_ADDR=ROOM)
    client.post("knowledge-donor", person(2, _hp="x"), REMOTE_ADDR=ROOM)
    storage = client.app.storage
    names = [row[0] for row in buckets(storage)]
    assert sorted(name.partition(":")[0] for name in names) == ["address", "email", "form", "junk"]
    assert not any(ROOM in name or "p1@example.org" in name for name in names)
    # Once every bucket is full again its row goes (pruning runs at most once a minute).
    clock.now += 2 * 3600
    client.post("help-request", valid("help-request"), REMOTE_ADDR="192.0.2.1")
    assert sorted(row[0].partition(":")[0] for row in buckets(storage)) == [
        "address",
        "email",
        "form",
    ]


# --- Storage: buckets spent together, exactly, from concurrent connections -------------


def test_limits_are_spent_all_or_none(storage):
    small = Limit("email:a", per_hour=1, burst=1)
    big = Limit("address:a", per_hour=10, burst=10)
    assert storage.record_hit("ignored", NOW, [big, small]) is None
    retry = storage.record_hit("ignored", NOW, [big, small])
    assert retry == pytest.approx(3600)
    # Nine left in the big bucket: the refused post above spent none.
    for _ in range(9):
        assert storage.record_hit("ignored", NOW, [big]) is None
    assert storage.record_hit("ignored", NOW, [big]) == pytest.approx(360)


def test_concurrent_posts_never_overspend_a_bucket(database_url):
    first, second = open_storage(database_url), open_storage(database_url)
    first.migrate()
    limit = [Limit("form:knowledge-donor", per_hour=25, burst=25)]
    results = []

    def post(storage):
        for _ in range(20):
            results.append(storage.record_hit("x", NOW, limit))

    threads = [threading.Thread(target=post, args=(store,)) for store in (first, second)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        first.close()
        second.close()
    assert results.count(None) == 25
    assert len(results) == 40


# --- The sender's address behind trusted proxies -----------------------------------


def proxies(*items):
    return Settings(trusted_proxies=items).trusted_proxies


@pytest.mark.parametrize(
    ("remote", "forwarded", "trusted", "sender"),
    [
        # Without trusted proxies the header is never believed.
        ("192.0.2.1", "203.0.113.5", (), "192.0.2.1"),
        # From an untrusted address, nor is it.
        ("192.0.2.1", "203.0.113.5", ("10.0.0.0/8",), "192.0.2.1"),
        # From a trusted proxy: the address it saw.
        ("10.0.0.2", "203.0.113.5", ("10.0.0.0/8",), "203.0.113.5"),
        # A sender's own X-Forwarded-For is left of what the proxy appended: ignored.
        ("10.0.0.2", "1.1.1.1, 203.0.113.5", ("10.0.0.0/8",), "203.0.113.5"),
        # Past every trusted hop (a CDN, then a load balancer), right to left.
        (
            "10.0.0.2",
            "6.6.6.6, 203.0.113.5, 198.51.100.7",
            ("10.0.0.2", "198.51.100.0/24"),
            "203.0.113.5",
        ),
        # Ports and brackets, IPv6, IPv4 mapped in IPv6.
        ("10.0.0.2", "203.0.113.5:4711", ("10.0.0.0/8",), "203.0.113.5"),
        ("10.0.0.2", "[2001:db8::5]:443", ("10.0.0.0/8",), "2001:db8::5"),
        ("::ffff:10.0.0.2", "2001:db8::5", ("10.0.0.0/8",), "2001:db8::5"),
        # Every hop trusted (a post from inside): the first one sent it.
        ("10.0.0.2", "10.0.0.9, 10.0.0.3", ("10.0.0.0/8",), "10.0.0.9"),
        # A trusted proxy without the header: the proxy itself.
        ("10.0.0.2", "", ("10.0.0.0/8",), "10.0.0.2"),
    ],
)
def test_client_address(remote, forwarded, trusted, sender):
    environ = {"REMOTE_ADDR": remote}
    if forwarded:
        environ["HTTP_X_FORWARDED_FOR"] = forwarded
    assert abuse.client_address(environ, proxies(*trusted)) == sender


def test_behind_a_trusted_proxy_each_visitor_has_their_own_allowance(limited):
    behind = limited(rate_limit_per_hour=1, rate_limit_burst=1, trusted_proxies=("10.0.0.2",))
    for number, visitor in enumerate(("203.0.113.5", "203.0.113.6")):
        forwarded = {"X-Forwarded-For": visitor}
        answer = behind.post(
            "knowledge-donor", person(number), headers=forwarded, REMOTE_ADDR="10.0.0.2"
        )
        assert answer.status == 200
    again = {"X-Forwarded-For": "1.2.3.4, 203.0.113.5"}  # a forged hop changes nothing
    answer = behind.post("knowledge-donor", person(9), headers=again, REMOTE_ADDR="10.0.0.2")
    assert answer.status == 429
    # Without the setting, the proxy's address is everyone's, and the header is ignored.
    plain = limited(rate_limit_per_hour=1, rate_limit_burst=1)
    first = plain.post(
        "knowledge-donor",
        person(1),
        headers={"X-Forwarded-For": "203.0.113.5"},
        REMOTE_ADDR="10.0.0.2",
    )
    second = plain.post(
        "knowledge-donor",
        person(2),
        headers={"X-Forwarded-For": "203.0.113.6"},
        REMOTE_ADDR="10.0.0.2",
    )
    assert (first.status, second.status) == (200, 429)


# --- Settings ---------------------------------------------------------------------------


def test_limit_settings_from_the_environment():
    settings = Settings.from_env(
        {
            "RATE_LIMIT_PER_HOUR": "50",
            "RATE_LIMIT_BURST": "80",
            "JUNK_LIMIT_PER_HOUR": "0",
            "EMAIL_LIMIT_PER_HOUR": "4",
            "FORM_LIMIT_PER_HOUR": "900",
            "TRUSTED_PROXIES": " 10.0.0.0/8, 192.0.2.10 ,2001:db8::/32",
        },
        warn=False,
    )
    assert (settings.rate_limit_per_hour, settings.rate_limit_burst) == (50, 80)
    assert (settings.junk_limit_per_hour, settings.email_limit_per_hour) == (0, 4)
    assert settings.form_limit_per_hour == 900
    assert [str(network) for network in settings.trusted_proxies] == [
        "10.0.0.0/8",
        "192.0.2.10/32",
        "2001:db8::/32",
    ]
    assert Settings.from_env({}, warn=False).trusted_proxies == ()


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"TRUSTED_PROXIES": "10.0.0.0/8, proxy.example.org"},
            "TRUSTED_PROXIES: 'proxy.example.org'",
        ),
        ({"TRUSTED_PROXIES": "0.0.0.0/0"}, "TRUSTED_PROXIES: 0.0.0.0/0 would believe"),
        ({"TRUSTED_PROXIES": "::/0"}, "TRUSTED_PROXIES: ::/0 would believe"),
        ({"RATE_LIMIT_BURST": "0"}, "RATE_LIMIT_BURST must be at least 1"),
        ({"EMAIL_LIMIT_PER_HOUR": "ten"}, "EMAIL_LIMIT_PER_HOUR must be a whole number"),
        ({"FORM_LIMIT_PER_HOUR": "-1"}, "FORM_LIMIT_PER_HOUR must not be negative"),
    ],
)
def test_limit_settings_errors_name_the_variable_and_the_fix(environ, message):
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(environ, warn=False)
    assert str(refused.value).startswith(message)


def test_the_per_address_limit_may_be_switched_off_without_a_burst():
    settings = Settings.from_env({"RATE_LIMIT_PER_HOUR": "0", "RATE_LIMIT_BURST": "0"}, warn=False)
    assert abuse.submission_limits(settings, _Posted("f", "ip", "")) == (
        Limit("form:f", settings.form_limit_per_hour, settings.form_limit_per_hour),
    )


class _Posted:
    def __init__(self, form_id, ip_hash, email):
        self.form_id, self.ip_hash, self.email = form_id, ip_hash, email
