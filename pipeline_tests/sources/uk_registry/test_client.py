import json
from base64 import b64encode

import pytest
import responses

from pipeline.resources.http import HttpSettings, OriginRefused, TooLarge, UpstreamError
from pipeline.sandbox import Fault, RegistryServer, make_registry
from pipeline.sandbox._http import Reply
from pipeline.sandbox._origins import OTHER_HOST, Recorder, redirect
from pipeline.sources.plugin import SourceContext
from pipeline.sources.uk_registry.client import RegistryApi
from pipeline.sources.uk_registry.definitions import build

FAST = HttpSettings(max_attempts=3, backoff_initial_s=0.001, backoff_max_s=0.01)

URL = "http://ncr.test/api/retrieve/registry/format/json"


@responses.activate
def test_download_streams_the_document_unchanged(tmp_path):
    body = b'{"Scheme": {"SchemeCode": "X"}, "ChargeDevice": [{"ChargeDeviceId": "a"}]}'
    responses.add(responses.GET, URL, body=body)
    target = tmp_path / "registry.json"
    assert RegistryApi(url=URL).download(target).bytes == len(body)
    assert target.read_bytes() == body


@responses.activate
def test_a_client_error_fails_at_once_with_status_and_url(tmp_path):
    responses.add(responses.GET, URL, body="nope", status=404)
    with pytest.raises(UpstreamError, match=rf"GET {URL} answered HTTP 404 Not Found"):
        RegistryApi(url=URL).download(tmp_path / "registry.json")
    assert len(responses.calls) == 1


@responses.activate
def test_a_server_error_is_retried_then_fails_with_status_and_url(tmp_path):
    responses.add(responses.GET, URL, body="nope", status=500)
    api = RegistryApi(url=URL, http=HttpSettings(max_attempts=2, backoff_initial_s=0.001))
    with pytest.raises(
        UpstreamError, match=rf"the registry download of {URL} failed 2 times; last: HTTP 500"
    ):
        api.download(tmp_path / "registry.json")
    assert len(responses.calls) == 2


@responses.activate
def test_an_html_page_with_status_200_is_not_stored_as_the_registry(tmp_path):
    responses.add(responses.GET, URL, body="<html>maintenance</html>")
    api = RegistryApi(url=URL, http=HttpSettings(max_attempts=1))
    with pytest.raises(
        UpstreamError,
        match=r"the body is not one JSON document \(JSON is malformed: invalid character at byte 0; 24 bytes",
    ):
        api.download(tmp_path / "registry.json")


@pytest.mark.parametrize("kind", ["truncated_no_length", "truncated_body"])
def test_a_body_cut_short_is_retried_and_the_file_is_the_whole_document(tmp_path, kind):
    with RegistryServer(make_registry(300), faults=[Fault(kind, times=2)]) as server:
        target = tmp_path / "registry.json"
        download = RegistryApi(url=server.url, http=FAST).download(target)
        assert [status for _, status in server.requests] == [200, 200, 200]
    assert target.read_bytes() == server.body
    assert download.bytes == len(server.body)
    assert download.headers["etag"] == server.etag  # any letter case, as HTTP headers are


def test_a_body_cut_short_every_time_fails_naming_the_url_the_bytes_and_what_to_do(tmp_path):
    with RegistryServer(make_registry(300), faults=[Fault("truncated_no_length", times=3)]) as server:
        url = server.url
        with pytest.raises(UpstreamError) as failure:
            RegistryApi(url=url, http=FAST).download(tmp_path / "registry.json")
    half = len(server.body) // 2
    assert str(failure.value) == (
        f"the registry download of {url} failed 3 times; last: the body ended after {half} bytes "
        "before its JSON document was complete (the connection closed early). The upstream may be down "
        "or throttling; re-run the partition later (nothing was replaced)."
    )


def test_a_redirect_to_another_origin_is_refused_unless_ncr_follow_hosts_names_it(tmp_path):
    body, target = json.dumps(make_registry(20)).encode(), tmp_path / "registry.json"
    with Recorder({"/ncr.json": Reply(200, body)}, host=OTHER_HOST) as cdn, Recorder() as mirror:
        mirror.routes["/dump"] = redirect(f"{cdn.base_url}/ncr.json")
        url = f"http://ncr-user:ncr-pw@{mirror.base_url.removeprefix('http://')}/dump"
        with pytest.raises(
            OriginRefused, match=r"If 127\.0\.0\.2:\d+ really serves this source, name it in NCR_FOLLOW_HOSTS"
        ):
            RegistryApi(url=url, http=FAST).download(target)
        assert cdn.seen == [] and not target.exists()
        download = RegistryApi(url=url, follow_hosts=[OTHER_HOST], http=FAST).download(target)
        [(_, refused), (_, followed)] = mirror.seen
        [(_, sent_cdn)] = cdn.seen
    assert download.bytes == len(body) and target.read_bytes() == body
    basic = "Basic " + b64encode(b"ncr-user:ncr-pw").decode()
    assert refused["authorization"] == followed["authorization"] == basic  # from the URL, to its origin
    assert "authorization" not in sent_cdn  # and never on to the CDN


def test_the_change_probe_keeps_to_the_origins_too():
    with (
        Recorder({"/dump": redirect("http://127.0.0.2:9/elsewhere")}) as mirror,
        pytest.raises(OriginRefused, match="the registry change probe, redirected by"),
    ):
        RegistryApi(url=f"{mirror.base_url}/dump").changed_since({"ETag": '"x"'})


def test_a_document_past_ncr_max_bytes_is_stopped_and_nothing_is_kept(tmp_path):
    with RegistryServer(make_registry(300)) as server:
        url, size, target = server.url, len(server.body), tmp_path / "registry.json"
        assert RegistryApi(url=server.url, max_bytes=size, http=FAST).download(target).bytes == size
        with pytest.raises(TooLarge) as caught:
            RegistryApi(url=server.url, max_bytes=size - 1, http=FAST).download(target)
        assert len(server.requests) == 2  # not retried
    assert str(caught.value).startswith(
        f"the registry download of {url} passed its limit of {size - 1} bytes "
    )
    assert f"NCR_MAX_BYTES): stopped after {size} bytes and kept nothing of it" in str(caught.value)
    assert not target.exists()


def test_ncr_follow_hosts_and_max_bytes_are_read_from_the_environment():
    environ = {"NCR_API_URL": "https://mirror.test/ncr", "NCR_FOLLOW_HOSTS": "cdn.test,files.test:8443"}
    resource = build(SourceContext(environ)).resources["uk_registry"]
    assert (resource.follow_hosts, resource.max_bytes) == (["cdn.test", "files.test:8443"], 8 << 30)
    resource = build(SourceContext(environ | {"NCR_MAX_BYTES": "1048576"})).resources["uk_registry"]
    assert resource.max_bytes == 1 << 20
