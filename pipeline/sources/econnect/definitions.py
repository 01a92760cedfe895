"""What the eConnect source registers, and when it is on: its URL, user, password and business partner.

Optional: ECONNECT_MAX_CONCURRENCY, ECONNECT_MAX_RPS, and ECONNECT_FOLLOW_HOSTS (hosts, comma- or
space-separated, that a redirect from the API may lead to; none by default, credentials never go there).
"""

from dagster import Definitions, EnvVar, load_assets_from_modules

from pipeline.resources.upstream import host_list
from pipeline.sources.econnect import NAME, assets, history
from pipeline.sources.econnect.client import EConnectApi
from pipeline.sources.econnect.sensors import econnect_change_sensor
from pipeline.sources.plugin import Source, SourceContext

URL, USERNAME, PASSWORD, PARTNER = (
    "ECONNECT_API_URL",
    "ECONNECT_USERNAME",
    "ECONNECT_PASSWORD",
    "ECONNECT_BUSINESS_PARTNER",
)


def build(context: SourceContext) -> Definitions:
    rps = context.get("ECONNECT_MAX_RPS")
    return Definitions(
        assets=load_assets_from_modules([assets, history]),
        sensors=[econnect_change_sensor],
        resources={
            NAME: EConnectApi(
                base_url=context.get(URL),
                username=EnvVar(USERNAME),
                password=EnvVar(PASSWORD),
                business_partner=EnvVar(PARTNER),
                max_concurrency=int(context.get("ECONNECT_MAX_CONCURRENCY", "4")),
                max_rps=float(rps) if rps else None,
                follow_hosts=host_list(context.get("ECONNECT_FOLLOW_HOSTS")),
                http=context.http,
            )
        },
    )


SOURCE = Source(
    name=NAME,
    description="A charge point operator's stations from the eConnect Masterdata API → the Excel report.",
    needs=(URL, USERNAME, PASSWORD, PARTNER),
    build=build,
)
