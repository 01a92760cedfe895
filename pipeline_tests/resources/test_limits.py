"""Byte limits: a body, or a source's day, stops at its limit, counted as decoded, and leaves nothing."""

import threading
import tracemalloc

import pytest

from pipeline.resources.http import CHUNK_BYTES, ByteBudget, HttpClient, HttpSettings, TooLarge
from pipeline.resources.upstream import size
from pipeline.sandbox._http import Reply
from pipeline.sandbox._origins import EndlessJson, Recorder, gzip_bomb, gzipped, json_of_size

FAST = HttpSettings(max_attempts=3, backoff_initial_s=0.001, backoff_max_s=0.01)
MiB = 1 << 20


def client():
    return HttpClient(FAST, sleep=lambda s: None)


def message(what, limit, setting, read):
    return (
        f"{what} passed its limit of {limit} bytes ({size(limit)}, {setting}): stopped after {read} bytes "
        f"and kept nothing of it. If it is really that large, raise {setting}; otherwise the upstream is "
        "sending more than it should."
    )


def test_sizes_read_as_people_write_them():
    sizes = [12, 1536, MiB, 256 * MiB, 1 << 30, 8 << 30, (3 << 29)]
    assert [size(n) for n in sizes] == [
        "12 bytes",
        "1.5 KiB",
        "1 MiB",
        "256 MiB",
        "1 GiB",
        "8 GiB",
        "1.5 GiB",
    ]


@pytest.mark.parametrize("encoded", [False, True], ids=["plain", "gzip"])
def test_a_body_exactly_at_the_limit_passes_and_one_byte_over_fails(tmp_path, encoded):
    body = json_of_size(5000)
    with Recorder({"/p": gzipped(gzip_bomb(5000)) if encoded else Reply(200, body)}) as server:
        http, url, target = client(), f"{server.base_url}/p", tmp_path / "page.json"
        download = http.download_json(url, target, what="a page", max_bytes=5000, max_bytes_setting="X_MAX")
        assert download.bytes == 5000 and target.read_bytes() == body  # stored decoded
        with pytest.raises(TooLarge) as caught:
            http.download_json(url, target, what="a page", max_bytes=4999, max_bytes_setting="X_MAX")
        assert len(server.seen) == 2  # never retried
    assert str(caught.value) == message(f"a page of {url}", 4999, "X_MAX", 5000)
    assert not target.exists()  # nothing of it left behind


def test_a_body_without_end_is_stopped_within_a_chunk_of_its_limit(tmp_path):
    limit = 3 * MiB + 17
    with EndlessJson() as server:
        http, url = client(), f"{server.base_url}/locations"
        with pytest.raises(TooLarge) as caught:
            http.download_json(url, tmp_path / "page.json", what="feed x, page 0", max_bytes=limit)
        assert server.requests == [("/locations", 200)]
    read = http.stats.bytes_received
    assert limit < read < limit + 2 * CHUNK_BYTES
    assert str(caught.value) == message(f"feed x, page 0 of {url}", limit, "max_bytes", read)
    assert not (tmp_path / "page.json").exists()


def test_a_gzip_bomb_is_limited_by_what_it_expands_to_and_never_expands_whole(tmp_path):
    bomb = gzip_bomb(256 * MiB)
    assert len(bomb) < MiB // 2  # a quarter of a gigabyte in a few hundred kilobytes on the wire
    with Recorder({"/dump": gzipped(bomb)}) as server:
        http, url = client(), f"{server.base_url}/dump"
        tracemalloc.start()
        try:
            with pytest.raises(TooLarge, match=r"limit of 1048576 bytes \(1 MiB, NCR_MAX_BYTES\)"):
                http.download_json(url, tmp_path / "d.json", max_bytes=MiB, max_bytes_setting="NCR_MAX_BYTES")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    # urllib3 2.8 decodes at most the chunk asked for: a decoded chunk or two, never the whole bomb.
    assert MiB < http.stats.bytes_received <= 2 * MiB and peak < 8 * MiB
    assert not (tmp_path / "d.json").exists()


def test_a_budget_is_shared_by_downloads_and_names_its_own_setting_when_it_runs_out(tmp_path):
    budget = ByteBudget(1500, setting="UK_OCPI_MAX_BYTES", what="feed chargy's pages and tariffs today")
    with Recorder({"/a": Reply(200, json_of_size(1000)), "/b": Reply(200, json_of_size(600))}) as server:
        http, url = client(), server.base_url
        http.download_json(f"{server.base_url}/a", tmp_path / "a.json", budget=budget, max_bytes=MiB)
        assert (budget.spent, budget.remaining) == (1000, 500)
        with pytest.raises(TooLarge) as caught:
            http.download_json(f"{server.base_url}/b", tmp_path / "b.json", what="page 1", budget=budget)
    what = f"page 1 of {url}/b: feed chargy's pages and tariffs today"
    assert str(caught.value) == message(what, 1500, "UK_OCPI_MAX_BYTES", 1600)
    assert budget.spent == 1000 and not (tmp_path / "b.json").exists()


def test_a_retried_attempt_is_charged_once(tmp_path):
    body, answers = json_of_size(2000), []

    def cut_once(path, headers):
        answers.append(path)
        return Reply(200, body, truncate=len(answers) == 1)

    budget = ByteBudget(2000, setting="B", what="the day")
    with Recorder({"/p": cut_once}) as server:
        http = client()
        download = http.download_json(f"{server.base_url}/p", tmp_path / "p.json", budget=budget)
    assert download.bytes == 2000 and len(answers) == 2 and http.stats.retries == 1
    assert (budget.spent, budget.remaining) == (2000, 0)


def test_spending_past_the_budget_fails_even_when_each_download_fitted_what_was_left():
    budget = ByteBudget(100, setting="S", what="the day")
    threads = [threading.Thread(target=budget.spend, args=(30,)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (budget.spent, budget.remaining) == (90, 10)
    with pytest.raises(TooLarge) as caught:
        budget.spend(11)
    assert str(caught.value) == message("the day", 100, "S", 101)
    assert budget.remaining == 0
    with pytest.raises(ValueError, match="S must be >= 0 bytes"):
        ByteBudget(-1, setting="S", what="x")
