"""Origins: where a client may be led and where its secret may go, as rules and on the wire.

127.0.0.1 and 127.0.0.2 are two origins: whatever reaches "the other host" is in its request log.
"""

import base64
import json

import pytest
import requests

from pipeline.resources.http import (
    HttpClient,
    HttpSettings,
    InvalidBody,
    OriginRefused,
    Origins,
    UpstreamError,
    hide_query_param,
    origin_of,
)
from pipeline.sandbox._http import json_reply
from pipeline.sandbox._origins import OTHER_HOST, Recorder, redirect

FAST = HttpSettings(max_attempts=2, backoff_initial_s=0.001, backoff_max_s=0.01)
BASIC = "Basic " + base64.b64encode(b"user:pw").decode()
OK = json_reply(200, {"ok": True})


def read_json(response):
    try:
        return json.loads(response.content)
    except ValueError:
        raise InvalidBody("body is not valid JSON") from None


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://Feed.TEST/ocpi/2.2/locations?offset=0", "https://feed.test:443"),
        ("HTTP://feed.test", "http://feed.test:80"),
        ("http://127.0.0.2:8080/x", "http://127.0.0.2:8080"),
        ("https://u:p@x.test:8443/", "https://x.test:8443"),
        ("http://[::1]:9/a", "http://[::1]:9"),
    ],
)
def test_origin_of_writes_scheme_host_and_port_out(url, origin):
    assert origin_of(url) == origin


@pytest.mark.parametrize("url", ["/relative/path", "feed.test/x", "ftp://x.test/a"])
def test_origin_of_refuses_a_url_without_host_or_known_port(url):
    with pytest.raises(ValueError, match=r"not an absolute URL with a host|has no port"):
        origin_of(url)


def test_follow_hosts_match_any_port_or_the_named_one_and_never_downgrade():
    origins = Origins.of("https://feed.test/ocpi", follow_hosts=["CDN.test", "mirror.test:8443"])
    assert origins.home == "https://feed.test:443"
    assert origins.follow_hosts == frozenset({"cdn.test", "mirror.test:8443"})
    allowed = {
        "https://feed.test/ocpi?offset=50": True,
        "https://feed.test:443/other": True,
        "https://feed.test:8443/ocpi": False,  # another port is another origin
        "https://cdn.test:9000/dump": True,
        "https://mirror.test:8443/dump": True,
        "https://mirror.test/dump": False,
        "http://feed.test/ocpi": False,  # https → http, even at home
        "http://cdn.test/dump": False,  # https → http, even on a followed host
        "https://evil.test/": False,
        "ftp://cdn.test/dump": False,
        "/relative": False,
    }
    assert {url: origins.allows(url) for url in allowed} == allowed


def test_a_plain_http_source_may_be_followed_to_https():
    origins = Origins.of("http://127.0.0.1:5000/a", follow_hosts=["cdn.test"])
    assert origins.allows("https://cdn.test/dump") and origins.allows("http://cdn.test/dump")
    assert not origins.allows("http://127.0.0.1:5001/a")


def test_the_secret_goes_home_or_to_a_followed_host_named_for_it_only():
    origins = Origins.of(
        "https://feed.test/ocpi", follow_hosts=["cdn.test", "api.test"], send_secret_to=["api.test"]
    )
    may = {
        "https://feed.test/ocpi/2": True,
        "https://api.test:444/x": True,
        "https://cdn.test/x": False,
        "http://api.test/x": False,  # never over a downgrade
        "https://evil.test/x": False,
    }
    assert {url: origins.may_send_secret(url) for url in may} == may


def test_a_secret_host_must_be_a_followed_host_and_entries_must_be_hosts():
    with pytest.raises(ValueError, match=r"send_secret_to names api\.test, which follow_hosts does not"):
        Origins.of("https://feed.test/", follow_hosts=["cdn.test"], send_secret_to=["api.test"])
    for entry in ["https://cdn.test", "cdn.test/path", "user@cdn.test", "cdn.test:port"]:
        with pytest.raises(ValueError, match="is not a host or host:port"):
            Origins.of("https://feed.test/", follow_hosts=[entry])


def test_the_refusal_names_both_origins_and_the_setting_and_masks_secrets():
    origins = Origins.of("https://feed.test/ocpi", setting="follow_hosts of feed chargy")
    with pytest.raises(OriginRefused) as refused:
        origins.check("https://evil.test:8443/x?token=s3cr3t", what="feed chargy, page 2")
    assert str(refused.value) == (
        "feed chargy, page 2: https://evil.test:8443/x?token=*** is on https://evil.test:8443, not "
        "https://feed.test:443 (nor a host follow_hosts of feed chargy names); not requested. If "
        "evil.test:8443 really serves this source, name it in follow_hosts of feed chargy."
    )
    with pytest.raises(OriginRefused) as downgrade:
        origins.check("http://feed.test/ocpi?offset=2", what="feed chargy, page 2")
    assert str(downgrade.value) == (
        "feed chargy, page 2: http://feed.test/ocpi?offset=2 is plain http and https://feed.test:443 is "
        "https; a feed is never followed from https to http (the answer could be read or changed on "
        "the way); not requested."
    )


def client(home_url, **origins):
    return HttpClient(
        FAST,
        auth=("user", "pw"),
        sleep=lambda s: None,
        origins=Origins.of(home_url, setting="TEST_FOLLOW_HOSTS", **origins),
        secret_headers=("Authorization", "X-Api-Key"),
    )


def test_a_redirect_to_another_origin_is_refused_before_anything_is_requested_there():
    with Recorder(host=OTHER_HOST) as other, Recorder() as home:
        home.routes["/start"] = redirect(f"{other.base_url}/collect?offset=3")
        http = client(home.base_url)
        with pytest.raises(OriginRefused) as refused:
            http.fetch(f"{home.base_url}/start", read_json, what="page 0")
        assert str(refused.value) == (
            f"page 0, redirected by {home.base_url}/start: {other.base_url}/collect?offset=3 is on "
            f"{other.base_url}, not {home.base_url} (nor a host TEST_FOLLOW_HOSTS names); not requested. "
            f"If {other.base_url.removeprefix('http://')} really serves this source, name it in "
            "TEST_FOLLOW_HOSTS."
        )
        assert other.seen == [] and len(home.seen) == 1 and http.stats.requests == 1


def test_the_first_url_itself_is_checked_too():
    with Recorder({"/x": OK}, host=OTHER_HOST) as other:
        http = client("http://127.0.0.1:1/feed")
        with pytest.raises(OriginRefused, match="not requested"):
            http.fetch(f"{other.base_url}/x", read_json, what="page 3")
        assert other.seen == []


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_followed_host_is_reached_without_basic_auth_or_secret_headers(status):
    with Recorder({"/dump": OK}, host=OTHER_HOST) as other, Recorder() as home:
        home.routes["/start"] = redirect(f"{other.base_url}/dump", status=status)
        http = client(home.base_url, follow_hosts=[OTHER_HOST])
        result = http.fetch(f"{home.base_url}/start", read_json, headers={"x-api-key": "k-77"})
        assert result == {"ok": True} and http.stats.requests == 2
        [(_, sent_home)] = home.seen
        [(path, sent_other)] = other.seen
    assert (sent_home["authorization"], sent_home["x-api-key"]) == (BASIC, "k-77")
    assert path == "/dump" and "authorization" not in sent_other and "x-api-key" not in sent_other


def test_send_secret_to_lets_a_followed_host_have_the_secret():
    with Recorder({"/dump": OK}, host=OTHER_HOST) as other, Recorder() as home:
        home.routes["/start"] = redirect(f"{other.base_url}/dump")
        http = client(home.base_url, follow_hosts=[OTHER_HOST], send_secret_to=[OTHER_HOST])
        http.fetch(f"{home.base_url}/start", read_json, headers={"X-Api-Key": "k-77"})
        [(_, sent_other)] = other.seen
    assert (sent_other["authorization"], sent_other["x-api-key"]) == (BASIC, "k-77")


def test_without_origins_redirects_are_followed_but_the_secret_stays_with_the_first_origin():
    with Recorder({"/dump": OK}, host=OTHER_HOST) as other, Recorder() as home:
        home.routes["/start"] = redirect(f"{other.base_url}/dump")
        home.routes["/back"] = redirect(f"{home.base_url}/done")
        home.routes["/done"] = OK
        other.routes["/bounce"] = redirect(f"{home.base_url}/done")
        http = HttpClient(FAST, auth=("user", "pw"), secret_headers=("x-api-key",))
        assert http.fetch(f"{home.base_url}/start", read_json, headers={"X-Api-Key": "k"}) == {"ok": True}
        assert http.fetch(f"{other.base_url}/bounce", read_json) == {"ok": True}
        [(_, sent_other), (_, _)] = other.seen
        sent_home = dict(home.seen)
    assert "authorization" not in sent_other and "x-api-key" not in sent_other
    # /done reached from the other origin: the secret belongs to where that fetch started, not to home.
    assert "authorization" not in sent_home["/done"]


def test_a_hidden_query_parameter_never_travels_to_another_origin():
    hide_query_param("sig_h5")
    with Recorder({"/next": OK}, host=OTHER_HOST) as other, Recorder() as home:
        # A server echoing its query into the Location, to another origin and to itself.
        home.routes["/start"] = redirect(f"{other.base_url}/next?sig_h5=hush-1&offset=3&Token=t2")
        home.routes["/same"] = redirect(f"{home.base_url}/here?sig_h5=hush-1&offset=3")
        home.routes["/here"] = OK
        http = client(home.base_url, follow_hosts=[OTHER_HOST])
        http.fetch(f"{home.base_url}/start?sig_h5=hush-1&offset=3", read_json)
        http.fetch(f"{home.base_url}/same?sig_h5=hush-1", read_json)
        # The other origin's own signature (token, not carried by the URL redirecting) is kept.
        assert [path for path, _ in other.seen] == ["/next?offset=3&Token=t2"]
        assert [path for path, _ in home.seen][-1] == "/here?sig_h5=hush-1&offset=3"


def test_a_relative_location_is_resolved_against_the_current_url():
    with Recorder({"/v2/feed/start": redirect("page?offset=1"), "/v2/feed/page": OK}) as home:
        http = client(home.base_url)
        assert http.fetch(f"{home.base_url}/v2/feed/start", read_json) == {"ok": True}
        assert [path for path, _ in home.seen] == ["/v2/feed/start", "/v2/feed/page?offset=1"]


def test_a_redirect_loop_or_a_redirect_without_location_fails_at_once():
    with Recorder({"/loop": redirect("/loop"), "/nowhere": redirect("")}) as home:
        http = client(home.base_url)
        with pytest.raises(UpstreamError, match=r"/loop redirected more than 10 times .*; stopping"):
            http.fetch(f"{home.base_url}/loop", read_json, what="page 0")
        assert len(home.seen) == 11 and http.stats.retries == 0
        with pytest.raises(UpstreamError, match=r"/nowhere answered HTTP 302 without a Location"):
            http.fetch(f"{home.base_url}/nowhere", read_json, what="page 0")


def test_why_the_client_follows_redirects_itself_requests_sends_custom_headers_anywhere():
    """requests strips Authorization on a host change, but a token in any other header goes along."""
    with Recorder({"/dump": OK}, host=OTHER_HOST) as other, Recorder() as home:
        home.routes["/start"] = redirect(f"{other.base_url}/dump")
        session = requests.Session()
        session.get(f"{home.base_url}/start", headers={"X-Api-Key": "k", "Authorization": "Token t"})
        [(_, sent_other)] = other.seen
    assert sent_other["x-api-key"] == "k" and "authorization" not in sent_other
