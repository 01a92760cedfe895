import pytest
import responses

from pipeline.resources.http import HttpSettings, UpstreamError
from pipeline.sources.uk_chargepoints.client import NcrApi

URL = "http://ncr.test/api/retrieve/registry/format/json"


@responses.activate
def test_download_streams_the_document_unchanged(tmp_path):
    body = b'{"Scheme": {"SchemeCode": "X"}, "ChargeDevice": [{"ChargeDeviceId": "a"}]}'
    responses.add(responses.GET, URL, body=body)
    target = tmp_path / "registry.json"
    assert NcrApi(url=URL).download(target).bytes == len(body)
    assert target.read_bytes() == body


@responses.activate
def test_a_client_error_fails_at_once_with_status_and_url(tmp_path):
    responses.add(responses.GET, URL, body="nope", status=404)
    with pytest.raises(UpstreamError, match=rf"GET {URL} answered HTTP 404 Not Found"):
        NcrApi(url=URL).download(tmp_path / "registry.json")
    assert len(responses.calls) == 1


@responses.activate
def test_a_server_error_is_retried_then_fails_with_status_and_url(tmp_path):
    responses.add(responses.GET, URL, body="nope", status=500)
    api = NcrApi(url=URL, http=HttpSettings(max_attempts=2, backoff_initial_s=0.001))
    with pytest.raises(
        UpstreamError, match=rf"the registry download of {URL} failed 2 times; last: HTTP 500"
    ):
        api.download(tmp_path / "registry.json")
    assert len(responses.calls) == 2


@responses.activate
def test_an_html_page_with_status_200_is_not_stored_as_the_registry(tmp_path):
    responses.add(responses.GET, URL, body="<html>maintenance</html>")
    api = NcrApi(url=URL, http=HttpSettings(max_attempts=1))
    with pytest.raises(UpstreamError, match="body is not a JSON document"):
        api.download(tmp_path / "registry.json")
