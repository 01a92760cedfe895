"""The eConnect Masterdata API: a charge point operator's stations, and the Excel report."""

NAME = "econnect"  # the folder, group, resource, sensor, pool, raw zone and asset prefix
