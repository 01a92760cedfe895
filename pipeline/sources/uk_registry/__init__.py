"""The UK National Chargepoint Registry's format: every UK charge device, counted per model for a service.

The registry itself was switched off on 28 November 2024; this source reads a mirror or an archived
dump in its format (`NCR_API_URL`), and is off when that is not set.
"""

NAME = "uk_registry"  # the folder, group, resource, sensor, pool, raw zone and asset prefix
