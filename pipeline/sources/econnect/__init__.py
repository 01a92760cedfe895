"""The eConnect Masterdata API: a charge point operator's stations, and the weekly Excel report."""
