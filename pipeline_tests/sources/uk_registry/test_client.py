import pytest
import responses

from pipeline.resources.http import HttpSettings, UpstreamError
from pipeline.sandbox import Fault, RegistryServer, make_registry
from pipeline.sources.uk_registry.client import RegistryApi

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
