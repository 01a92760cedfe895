"""UK operators' OCPI 2.2.1 Locations open-data feeds: the live legal source of UK public charge points.

Since 24 November 2024 the Public Charge Point Regulations 2023 (reg. 10) oblige every UK charge point
operator that is not a micro-business to publish its Locations as OCPI 2.2.1 open data, each at its own
URL. This source reads a list of those feeds (`feeds.yaml`, or the file `UK_OCPI_FEEDS` names).
"""

NAME = "uk_ocpi"  # the folder, group, resource, pool, raw zone and asset prefix
