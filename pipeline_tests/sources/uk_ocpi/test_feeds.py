"""The feed list: the bundled endpoints, the exact format, and errors that name the file, entry and key."""

import textwrap

import pytest

from pipeline.sources.uk_ocpi.definitions import SOURCE
from pipeline.sources.uk_ocpi.feeds import BUNDLED, Feed, FeedListError, feeds_file, load_feeds, load_hosts
from pipeline.sources.uk_ocpi.hosts import host_intervals


def write(tmp_path, text):
    path = tmp_path / "feeds.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_the_bundled_list_names_every_open_uk_feed():
    feeds = load_feeds(BUNDLED)
    assert {feed.name: feed.url for feed in feeds} == {
        "char.gy": "https://char.gy/open-ocpi/locations",
        "GeniePoint": "https://opendata.geniepoint.co.uk/locations",
        "MFG EV Power": "https://opendata.motorfuelgroup.net/locations",
        "Mer UK": "https://uk.mer.eco/wp-json/ozev/v1/data",
        "Clenergy EV": "https://api.clenergy.online/development/pcpr/locations",
        "ChargePlace Scotland": "https://info.smartcharging.uk/public_feed/locations/2463",
        "Evolt": "https://info.smartcharging.uk/public_feed/locations/3666",
        "PoGo": "https://info.smartcharging.uk/public_feed/locations/4009",
        "Arnold Clark Charge": "https://api.fuuse.io/opendata/e6397b95-1624-49cd-824d-ab2f9dfe7294/location",
        "Jolt": "https://api.joltcharge.com/v1/uk/public/locations",
        "ParkRecharge": "https://ocpi-pcpr.hubeleon.net/2.2.1/reference",
    }
    # Only Jolt needs a secret: its shared key, sent as `apiKey`, from the environment (never the file).
    assert {(f.operator, f.token_env, f.header, f.query_param) for f in feeds if f.token_env} == {
        ("jolt", "JOLT_API_KEY", None, "apiKey")
    }
    assert all(feed.min_interval_s >= 1 for feed in feeds)


def test_the_bundled_intervals_are_the_ones_operators_publish_or_enforce():
    intervals = host_intervals(load_feeds(BUNDLED), load_hosts(BUNDLED))
    assert intervals["char.gy"] >= 6  # 403 after 54-58 requests in a row at 1 s
    assert intervals["api.clenergy.online"] == 11  # X-RateLimit-Limit: 6
    assert intervals["info.smartcharging.uk"] == 2  # one clock for ChargePlace Scotland, Evolt, PoGo
    hosts = load_hosts(BUNDLED)  # the gated hosts' clocks are set, their feeds commented out
    assert (hosts["open-chargepoints.com"], hosts["api.gridserve.com"]) == (125, 31)


def test_the_bundled_list_names_the_gated_operators_commented_out():
    text = BUNDLED.read_text()
    gated = [line for line in text.splitlines() if line.startswith("#  - operator: ")]
    assert len(gated) >= 23
    eco_movement = text.count("#    url: https://open-chargepoints.com/api/ocpi/cpo/2.2.1/locations")
    assert eco_movement == 10
    assert "#  - operator: gridserve" in text and "#    header: ec-subscription-key" in text
    for operator in ("instavolt", "fastned"):
        assert f"#  - operator: {operator}" in text


def test_the_exact_format_with_every_key(tmp_path):
    path = write(
        tmp_path,
        """\
        feeds:
          - operator: chargy          # slug
            name: char.gy
            url: https://char.gy/open-ocpi/locations
            token_env: CHARGY_TOKEN
            min_interval_s: 2
          - operator: mer_uk
            name: Mer UK
            url: http://127.0.0.1:9/data
        """,
    )
    assert load_feeds(path) == [
        Feed(
            operator="chargy",
            name="char.gy",
            url="https://char.gy/open-ocpi/locations",
            token_env="CHARGY_TOKEN",
            min_interval_s=2,
        ),
        Feed(
            operator="mer_uk", name="Mer UK", url="http://127.0.0.1:9/data", token_env=None, min_interval_s=0
        ),
    ]


def test_the_list_in_use_is_the_named_file_else_the_bundled_one(tmp_path):
    assert feeds_file({}) == BUNDLED
    assert feeds_file({"UK_OCPI_FEEDS": "  "}) == BUNDLED
    assert feeds_file({"UK_OCPI_FEEDS": str(tmp_path / "x.yaml")}) == tmp_path / "x.yaml"


def test_an_empty_list_is_valid_and_turns_the_source_off(tmp_path):
    path = write(tmp_path, "feeds: []\n")
    assert load_feeds(path) == []
    assert SOURCE.status({"UK_OCPI_FEEDS": str(path)}) == (
        f"uk_ocpi: off, not configured (the feed list {path} names no feeds)"
    )
    assert SOURCE.status({}).startswith(f"uk_ocpi: on (11 feeds in {BUNDLED})")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{name: X, url: 'https://x.test/l'}", "entry 2, key `operator`: missing."),
        (
            "{operator: Bad-Slug, name: X, url: 'https://x.test/l'}",
            "entry 2 ('Bad-Slug'), key `operator`: String",
        ),
        ("{operator: x, name: X, url: 'ftp://x.test/l'}", "entry 2 ('x'), key `url`: String should match"),
        (
            "{operator: x, name: X, url: 'https://x.test/l', token_env: 'lower'}",
            "entry 2 ('x'), key `token_env`",
        ),
        (
            "{operator: x, name: X, url: 'https://x.test/l', min_interval_s: -1}",
            "key `min_interval_s`: Input",
        ),
        (
            "{operator: x, name: X, url: 'https://x.test/l', token: abc}",
            "entry 2 ('x'), key `token`: unknown key",
        ),
        (
            "{operator: a, name: X, url: 'https://x.test/l'}",
            "entry 2, key `operator`: 'a' is already used by entry 1",
        ),
        ("just a string", "entry 2: expected a mapping, got 'just a string'."),
    ],
)
def test_a_bad_entry_fails_naming_the_file_the_entry_and_the_key(tmp_path, entry, message):
    path = write(tmp_path, f"feeds:\n  - {{operator: a, name: A, url: 'https://a.test/l'}}\n  - {entry}\n")
    with pytest.raises(FeedListError) as error:
        load_feeds(path)
    assert str(error.value).startswith(f"The feed list {path}, ")
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("feeds: [\n", "does not parse as YAML"),
        ("operators: []\n", "must be a mapping with a `feeds:` list"),
        ("feeds: []\nextra: 1\n", r"unknown top-level keys \['extra'\]"),
    ],
)
def test_a_list_that_does_not_parse_fails_naming_the_file(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(FeedListError, match=message) as error:
        load_feeds(path)
    assert str(path) in str(error.value)


def test_a_missing_file_fails_naming_it_and_the_setting(tmp_path):
    with pytest.raises(FeedListError, match=r"cannot be read \(UK_OCPI_FEEDS\)"):
        load_feeds(tmp_path / "nowhere.yaml")


def test_auth_styles_a_header_or_a_query_parameter_carrying_the_secret(tmp_path):
    path = write(
        tmp_path,
        """\
        feeds:
          - {operator: gridserve, name: Gridserve, url: 'https://g.test/l', token_env: GS_KEY,
             header: ec-subscription-key}
          - {operator: jolt, name: Jolt, url: 'https://j.test/l', token_env: JOLT_API_KEY,
             query_param: apiKey}
          - {operator: plain, name: Plain, url: 'https://p.test/l', token_env: PLAIN_TOKEN}
        """,
    )
    feeds = load_feeds(path)
    assert [(f.token_env, f.header, f.query_param) for f in feeds] == [
        ("GS_KEY", "ec-subscription-key", None),
        ("JOLT_API_KEY", None, "apiKey"),
        ("PLAIN_TOKEN", None, None),
    ]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            "{operator: x, name: X, url: 'https://x.test/l', header: ec-subscription-key}",
            "entry 2 ('x'), key `header`: needs `token_env`, the variable holding the secret to send.",
        ),
        (
            "{operator: x, name: X, url: 'https://x.test/l', query_param: apiKey}",
            "entry 2 ('x'), key `query_param`: needs `token_env`, the variable holding the secret to send.",
        ),
        (
            "{operator: x, name: X, url: 'https://x.test/l', token_env: K, header: h, query_param: apiKey}",
            "entry 2 ('x'), key `query_param`: give `header` or `query_param`, not both.",
        ),
        (
            "{operator: x, name: X, url: 'https://x.test/l', token_env: K, header: 'bad header'}",
            "entry 2 ('x'), key `header`: String should match pattern",
        ),
        (
            "{operator: x, name: X, url: 'https://x.test/l', token_env: K, query_param: 'a&b'}",
            "entry 2 ('x'), key `query_param`: String should match pattern",
        ),
        (
            "{operator: x, name: X, url: 'https://x.test/l', auth: header}",
            "entry 2 ('x'), key `auth`: unknown key (allowed: operator, name, url, token_env, header, "
            "query_param, min_interval_s, follow_hosts, send_secret_to, tariffs_url, tariffs_from).",
        ),
    ],
)
def test_a_bad_auth_entry_fails_naming_the_entry_and_the_key(tmp_path, entry, message):
    path = write(tmp_path, f"feeds:\n  - {{operator: a, name: A, url: 'https://a.test/l'}}\n  - {entry}\n")
    with pytest.raises(FeedListError) as error:
        load_feeds(path)
    assert str(error.value).startswith(f"The feed list {path}, ")
    assert message in str(error.value)


def test_follow_hosts_and_send_secret_to_are_read_as_hosts_in_lower_case(tmp_path):
    path = write(
        tmp_path,
        """\
        feeds:
          - {operator: cdn, name: Cdn, url: 'https://c.test/l', token_env: CDN_TOKEN,
             follow_hosts: [' Pages.CDN.test ', 'mirror.test:8443'], send_secret_to: [mirror.test:8443]}
          - {operator: plain, name: Plain, url: 'https://p.test/l'}
        """,
    )
    cdn, plain = load_feeds(path)
    assert (cdn.follow_hosts, cdn.send_secret_to) == (
        ("pages.cdn.test", "mirror.test:8443"),
        ("mirror.test:8443",),
    )
    assert (plain.follow_hosts, plain.send_secret_to) == ((), ())


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            "{operator: x, name: X, url: 'https://x.test/l', follow_hosts: ['https://cdn.test/p']}",
            "entry 2 ('x'), key `follow_hosts`: 'https://cdn.test/p' is not a host; write it as in a URL, "
            "without scheme, user or path (`cdn.example.org`, `127.0.0.2:8080`).",
        ),
        (
            "{operator: x, name: X, url: 'https://x.test/l', follow_hosts: cdn.test}",
            "entry 2 ('x'), key `follow_hosts`: Input should be a valid tuple.",
        ),
        (
            "{operator: x, name: X, url: 'https://x.test/l', follow_hosts: [cdn.test], "
            "send_secret_to: [cdn.test]}",
            "entry 2 ('x'), key `send_secret_to`: needs `token_env`, the variable holding the secret to "
            "send.",
        ),
        (
            "{operator: x, name: X, url: 'https://x.test/l', token_env: K, follow_hosts: [cdn.test], "
            "send_secret_to: [cdn.test, other.test]}",
            "entry 2 ('x'), key `send_secret_to`: 'other.test' is not in `follow_hosts`; only a host the "
            "feed may be followed to can get its secret.",
        ),
        (
            "{operator: x, name: X, url: 'https://x.test/l', token_env: K, send_secret_to: [CDN.test]}",
            "entry 2 ('x'), key `send_secret_to`: 'cdn.test' is not in `follow_hosts`; only a host the "
            "feed may be followed to can get its secret.",
        ),
    ],
)
def test_a_bad_follow_hosts_or_send_secret_to_fails_naming_the_entry_and_the_key(tmp_path, entry, message):
    path = write(tmp_path, f"feeds:\n  - {{operator: a, name: A, url: 'https://a.test/l'}}\n  - {entry}\n")
    with pytest.raises(FeedListError) as error:
        load_feeds(path)
    assert str(error.value) == f"The feed list {path}, {message}"


HOSTS_LIST = """\
feeds:
  - {operator: cps, name: ChargePlace Scotland, url: 'https://info.smartcharging.uk/public_feed/locations/2463'}
  - {operator: evolt, name: Evolt, url: 'https://info.smartcharging.uk/public_feed/locations/3666',
     min_interval_s: 3}
  - {operator: local, name: Local, url: 'http://127.0.0.1:8080/locations'}
"""


def test_a_hosts_map_beside_the_feeds_gives_each_host_its_interval(tmp_path):
    path = write(
        tmp_path,
        HOSTS_LIST
        + """\
        hosts:
          Info.SmartCharging.uk: {min_interval_s: 2}   # host names ignore case
          "127.0.0.1:8080": {min_interval_s: 0.5}
        """.replace("        ", ""),
    )
    assert load_hosts(path) == {"info.smartcharging.uk": 2.0, "127.0.0.1:8080": 0.5}
    assert [feed.operator for feed in load_feeds(path)] == ["cps", "evolt", "local"]
    # The stricter of the map and a feed's own interval wins for the whole host.
    assert host_intervals(load_feeds(path), load_hosts(path)) == {
        "info.smartcharging.uk": 3.0,
        "127.0.0.1:8080": 0.5,
    }


def test_a_list_without_a_hosts_map_has_none(tmp_path):
    assert load_hosts(write(tmp_path, HOSTS_LIST)) == {}
    assert load_hosts(write(tmp_path, HOSTS_LIST + "hosts:\n")) == {}


@pytest.mark.parametrize(
    ("hosts", "message"),
    [
        (
            "hosts:\n  info.smartcharging.co.uk: {min_interval_s: 2}\n",
            "hosts entry 'info.smartcharging.co.uk': no feed of the list is on this host, but one is on "
            "'info.smartcharging.uk'; fix the name (it must equal the feeds' host, port included when "
            "their URLs name one).",
        ),
        ("hosts:\n  www.smartcharging.uk: {min_interval_s: 2}\n", "but one is on 'info.smartcharging.uk'"),
        ("hosts:\n  127.0.0.1:8081: {min_interval_s: 2}\n", "but one is on '127.0.0.1:8080'"),
        (
            "hosts:\n  https://info.smartcharging.uk: {min_interval_s: 2}\n",
            "hosts entry 'https://info.smartcharging.uk': not a host; write it as in the feeds' URLs, "
            "without scheme, user or path (`info.smartcharging.uk`, `127.0.0.1:8080`).",
        ),
        ("hosts:\n  char.gy/open-ocpi: {min_interval_s: 2}\n", "entry 'char.gy/open-ocpi': not a host"),
        (
            "hosts:\n  info.smartcharging.uk: {min_interval_s: 2}\n"
            "  INFO.smartcharging.uk: {min_interval_s: 3}\n",
            "hosts entry 'INFO.smartcharging.uk': the host is listed twice (host names ignore case).",
        ),
        (
            "hosts:\n  info.smartcharging.uk: {}\n",
            "hosts entry 'info.smartcharging.uk', key `min_interval_s`: missing.",
        ),
        (
            "hosts:\n  info.smartcharging.uk: {min_interval_s: -1}\n",
            "key `min_interval_s`: Input should be greater than or equal to 0.",
        ),
        (
            "hosts:\n  info.smartcharging.uk: {min_interval_s: 1, burst: 5}\n",
            "hosts entry 'info.smartcharging.uk', key `burst`: unknown key (allowed: min_interval_s).",
        ),
        (
            "hosts:\n  info.smartcharging.uk: 2\n",
            "hosts entry 'info.smartcharging.uk': expected a mapping like `{min_interval_s: 2}`, got 2.",
        ),
        ("hosts: [info.smartcharging.uk]\n", "`hosts:` must map a host to its settings"),
    ],
)
def test_a_bad_hosts_map_fails_naming_the_file_the_host_and_the_key(tmp_path, hosts, message):
    path = write(tmp_path, HOSTS_LIST + hosts)
    with pytest.raises(FeedListError) as error:
        load_feeds(path)
    assert str(error.value).startswith(f"The feed list {path}, ")
    assert message in str(error.value)


def test_a_host_no_feed_is_on_yet_keeps_its_entry_for_feeds_added_later(tmp_path):
    """The bundled list sets the limits of token-gated hosts whose feeds are commented out."""
    path = write(tmp_path, HOSTS_LIST + "hosts:\n  open-chargepoints.com: {min_interval_s: 125}\n")
    assert load_hosts(path) == {"open-chargepoints.com": 125.0}
