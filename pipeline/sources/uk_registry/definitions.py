"""What the UK registry source registers, and when it is on: `NCR_API_URL` set (there is no default,
the registry was switched off on 28 November 2024). The CSV upload also needs `PIPELINE_S3_BUCKET`.

Optional: NCR_FOLLOW_HOSTS (hosts, comma- or space-separated, that a redirect from the URL may lead
to, e.g. a mirror's CDN; none by default) and NCR_MAX_BYTES (the most one download may take; 8 GiB)."""

from dagster import Definitions

from pipeline.resources.upstream import host_list
from pipeline.sources.plugin import Source, SourceContext
from pipeline.sources.uk_registry import NAME
from pipeline.sources.uk_registry.assets import (
    uk_registry_clean_devices,
    uk_registry_model_counts,
    uk_registry_models_csv,
    uk_registry_snapshot,
)
from pipeline.sources.uk_registry.client import MAX_BYTES, RegistryApi
from pipeline.sources.uk_registry.history import uk_registry_manufacturer_history
from pipeline.sources.uk_registry.sensors import uk_registry_change_sensor

URL = "NCR_API_URL"
UPLOAD = "the CSV upload (uk_registry_models_csv)"
BUCKET = "PIPELINE_S3_BUCKET"


def build(context: SourceContext) -> Definitions:
    assets = [uk_registry_snapshot, uk_registry_clean_devices, uk_registry_model_counts]
    assets += [uk_registry_manufacturer_history]
    if context.has(BUCKET):
        assets.append(uk_registry_models_csv)
    return Definitions(
        assets=assets,
        sensors=[uk_registry_change_sensor],
        resources={
            NAME: RegistryApi(
                url=context.get(URL),
                follow_hosts=host_list(context.get("NCR_FOLLOW_HOSTS")),
                max_bytes=int(context.get("NCR_MAX_BYTES", str(MAX_BYTES))),
                http=context.http,
            )
        },
    )


SOURCE = Source(
    name=NAME,
    description="Every UK charge device from a registry-format document → charger_models_UK.csv on S3.",
    needs=(URL,),
    build=build,
    parts={UPLOAD: (BUCKET,)},
)
