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
    assert NcrApi(url=URL).download(target) == len(body)
    assert target.read_bytes() == body


@responses.activate
@pytest.mark.parametrize("status", [404, 500])
def test_non_200_fails_with_status_and_url(tmp_path, status):
    responses.add(responses.GET, URL, body="nope", status=status)
    with pytest.raises(UpstreamError, match=rf"GET {URL} answered HTTP {status}"):
        NcrApi(url=URL, http=HttpSettings(max_retries=0)).download(tmp_path / "registry.json")
