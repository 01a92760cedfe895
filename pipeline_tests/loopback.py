"""What "on this machine" means for the tests, in one place: the test process's socket guard
(conftest.py) and the check on every container a test or the benchmark starts (`only_loopback`) both
ask `is_loopback`.

A container is beyond the socket guard, so `only_loopback` checks what it is given instead, and refuses
each way its settings could lead off this machine: an upstream URL or host elsewhere, no S3 endpoint
(boto3 would go to AWS), or a feed list that is not the file the test mounted (the image's bundled list
names real operators) or that names a host elsewhere.
"""

import ipaddress
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from pipeline.resources.upstream import host_list
from pipeline.sources.uk_ocpi.feeds import load_feeds

_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", ""})
# Settings that name hosts rather than URLs: the instance's database, and where a redirect may lead.
HOST_SETTINGS = ("DAGSTER_PG_HOST",)
HOST_LIST_SETTINGS = ("ECONNECT_FOLLOW_HOSTS", "NCR_FOLLOW_HOSTS")


def is_loopback(host: object) -> bool:
    """True for loopback names and addresses (127.0.0.0/8, ::1, localhost) and for anything that is not
    a host name at all (an AF_UNIX path); false for every other name, whether it resolves or not."""
    if not isinstance(host, str):
        return True
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def only_loopback(env: Mapping[str, str], mounts: Sequence[tuple[Path | str, str]] = ()) -> None:
    """Raise ValueError, naming the setting, unless everything `env` could reach is on this machine.

    `mounts` are (file here, path in the container): UK_OCPI_FEEDS must name one of them, and every URL
    and host of that list is checked too."""
    if not env.get("AWS_ENDPOINT_URL", "").strip():
        raise ValueError("AWS_ENDPOINT_URL is unset: the container's S3 would be AWS's, not the sandbox's")
    feeds = env.get("UK_OCPI_FEEDS", "").strip()
    if not feeds:
        raise ValueError("UK_OCPI_FEEDS is unset: the container would read the bundled real operators")
    mounted = {target: Path(source) for source, target in mounts}
    if feeds not in mounted:
        raise ValueError(
            f"UK_OCPI_FEEDS names {feeds}, which is not a file mounted from here: it could be the "
            "image's bundled list of real operators"
        )
    for feed in load_feeds(mounted[feeds]):
        urls = [("url", feed.url)] + ([("tariffs_url", feed.tariffs_url)] if feed.tariffs_url else [])
        for field, url in urls:
            _refuse(f"UK_OCPI_FEEDS, feed {feed.operator}, {field}", urlsplit(url).hostname)
        for host in feed.follow_hosts:
            _refuse(f"UK_OCPI_FEEDS, feed {feed.operator}, follow_hosts", urlsplit(f"//{host}").hostname)
    for name, value in env.items():
        if value.startswith(("http://", "https://")):
            _refuse(name, urlsplit(value).hostname)
        elif name in HOST_SETTINGS:
            _refuse(name, value)
        elif name in HOST_LIST_SETTINGS:
            for host in host_list(value):
                _refuse(name, urlsplit(f"//{host}").hostname)


def _refuse(where: str, host: str | None) -> None:
    if host is not None and not is_loopback(host):
        raise ValueError(f"{where} points at {host}, not at this machine: containers reach the sandbox")
