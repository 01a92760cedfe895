"""Vocabulary tables for the synthetic upstream data.

Kept apart from the generators so the generators read as logic, and so the realistic-looking values
(model names, towns, postcode areas) can be extended without touching the code that draws from them.
"""

from __future__ import annotations

# --- eConnect (German CPO master data) -----------------------------------------------------------

# (modelInfo, current type, relative weight): AC wallboxes dominate real estates, fast chargers are rarer.
ECONNECT_MODELS: tuple[tuple[str, str, int], ...] = (
    ("Alfen Eve Single Pro-line", "AC", 14),
    ("Alfen Eve Double Pro-line", "AC", 10),
    ("ABB Terra AC W22-T-R-0", "AC", 12),
    ("Compleo eBOX professional", "AC", 9),
    ("Mennekes AMTRON Professional+ 22", "AC", 11),
    ("Keba KeContact P30 x-series", "AC", 13),
    ("Webasto Live", "AC", 5),
    ("Heidelberg Energy Control", "AC", 4),
    ("ebee Wallbox Berlin", "AC", 4),
    ("ABB Terra 54 CJG", "DC", 6),
    ("Tritium RTM75", "DC", 5),
    ("Alpitronic hypercharger HYC150", "DC", 7),
)

# Names a careless operator typed into a spreadsheet; a CSV export must not let them run as formulas.
FORMULA_NAMES: tuple[str, ...] = (
    '=HYPERLINK("http://evil.example","click")',
    "+SUM(1,1)",
    "@cmd",
    "-2+3",
)

STATES: tuple[tuple[str, int], ...] = (
    ("OPERATIONAL", 74),
    ("PLANNED", 8),
    ("IN_INSTALLATION", 7),
    ("FAULTED", 6),
    ("DECOMMISSIONED", 5),
)

GARBAGE_DATES: tuple[str, ...] = ("31/02/2021", "not a date", "")

UTC_OFFSETS: tuple[str, ...] = ("+01:00", "+02:00", "+00:00", "-05:00")

# (city, latitude, longitude, first two postcode digits)
GERMAN_CITIES: tuple[tuple[str, float, float, str], ...] = (
    ("Berlin", 52.520, 13.405, "10"),
    ("Hamburg", 53.551, 9.994, "20"),
    ("München", 48.137, 11.575, "80"),
    ("Köln", 50.938, 6.960, "50"),
    ("Frankfurt am Main", 50.111, 8.682, "60"),
    ("Stuttgart", 48.776, 9.183, "70"),
    ("Düsseldorf", 51.227, 6.774, "40"),
    ("Leipzig", 51.340, 12.375, "04"),
    ("Dresden", 51.050, 13.738, "01"),
    ("Hannover", 52.375, 9.732, "30"),
    ("Nürnberg", 49.452, 11.077, "90"),
    ("Bremen", 53.079, 8.802, "28"),
)

GERMAN_STREETS: tuple[str, ...] = (
    "Hauptstraße",
    "Bahnhofstraße",
    "Schulstraße",
    "Gartenstraße",
    "Lindenstraße",
    "Kirchstraße",
    "Am Markt",
    "Industriestraße",
    "Ringstraße",
    "Parkstraße",
)

SITE_KINDS: tuple[str, ...] = ("Parkhaus", "Ladepark", "Tiefgarage", "Supermarkt", "Rathaus", "Autohof")

# --- UK National Chargepoint Registry ------------------------------------------------------------

# (manufacturer, model, is DC): 16 models, DC ones get CCS/CHAdeMO connectors.
NCR_MODELS: tuple[tuple[str, str, bool], ...] = (
    ("Pod Point", "Solo 3", False),
    ("Pod Point", "Twin Pod 7kW", False),
    ("Alfen", "Eve Double Pro-line", False),
    ("Andersen", "A2", False),
    ("Rolec", "SecuriCharge", False),
    ("APT", "Dual 22kW", False),
    ("Siemens", "VersiCharge", False),
    ("EVBox", "BusinessLine", False),
    ("Ubitricity", "Heinz", False),
    ("Char.gy", "Lamp Post 5kW", False),
    ("Wallbox", "Commander 2", False),
    ("ABB", "Terra 54", True),
    ("ABB", "Terra 360", True),
    ("Tritium", "RTM75", True),
    ("Tritium", "PKM150", True),
    ("Kempower", "Satellite", True),
)

# Free text an operator pasted in: commas, quotes and newlines that a CSV writer has to quote.
AWKWARD_MAKES: tuple[tuple[str, str], ...] = (
    ("Wallbox", 'Wallbox "Pulsar", Plus'),
    ("Pod Point, Ltd.", 'Solo 3\n"Tethered", 7kW'),
    ('Rolec "EV"\nServices', "WallPod: EV, Ltd."),
)

LOCATION_TYPES: tuple[str, ...] = (
    "Public car park",
    "On-street",
    "Service station",
    "Retail car park",
    "Hotel",
    "Other",
)

# (outward code, post town, county, latitude, longitude)
UK_AREAS: tuple[tuple[str, str, str, float, float], ...] = (
    ("TW6", "Hounslow", "Greater London", 51.470, -0.454),
    ("SW1A", "London", "Greater London", 51.501, -0.142),
    ("M1", "Manchester", "Greater Manchester", 53.480, -2.242),
    ("EH1", "Edinburgh", "City of Edinburgh", 55.953, -3.189),
    ("B1", "Birmingham", "West Midlands", 52.480, -1.903),
    ("LS1", "Leeds", "West Yorkshire", 53.799, -1.549),
    ("G1", "Glasgow", "Glasgow City", 55.861, -4.250),
    ("BS1", "Bristol", "City of Bristol", 51.454, -2.588),
    ("CF10", "Cardiff", "Cardiff", 51.481, -3.179),
    ("NE1", "Newcastle upon Tyne", "Tyne and Wear", 54.978, -1.618),
    ("L1", "Liverpool", "Merseyside", 53.408, -2.991),
    ("NG1", "Nottingham", "Nottinghamshire", 52.954, -1.158),
    ("OX1", "Oxford", "Oxfordshire", 51.752, -1.258),
    ("CB2", "Cambridge", "Cambridgeshire", 52.205, 0.119),
    ("BT1", "Belfast", "County Antrim", 54.597, -5.930),
    ("S1", "Sheffield", "South Yorkshire", 53.381, -1.470),
    ("AB10", "Aberdeen", "Aberdeen City", 57.149, -2.094),
    ("PL1", "Plymouth", "Devon", 50.371, -4.143),
    ("MK9", "Milton Keynes", "Buckinghamshire", 52.041, -0.759),
    ("RG1", "Reading", "Berkshire", 51.454, -0.973),
)

# Real-looking postcodes that always head the pool, so tests and demos can refer to them.
FIXED_POSTCODES: tuple[str, ...] = ("TW6 2RQ", "SW1A 1AA", "M1 1AE", "EH1 2NG")

# Letters Royal Mail uses in the inward code (never C, I, K, M, O, V).
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

UK_STREETS: tuple[str, ...] = (
    "High Street",
    "Station Road",
    "Church Lane",
    "Victoria Road",
    "Park Road",
    "London Road",
    "Mill Lane",
    "King Street",
    "Queen Street",
    "Market Place",
)

UK_BUILDINGS: tuple[str | None, ...] = (
    None,
    None,
    "Tesco Extra",
    "Travelodge",
    "Leisure Centre",
    "Town Hall",
)

LOCATION_DESCRIPTIONS: tuple[str, ...] = (
    "Car park next to the main entrance",
    "Bays 12-14, level 2",
    "On-street bay outside number 10",
    "Rear car park, follow signs for EV charging",
    "Forecourt, next to the air and water machine",
)

ATTRIBUTIONS: tuple[str, ...] = ("Zap-Map", "Source London", "Charge Your Car", "Open Charge Map")

# (organisation, scheme code, website)
ORGANISATIONS: tuple[tuple[str, str, str], ...] = (
    ("BP Pulse", "BPP", "https://bppulse.example.co.uk"),
    ("Pod Point", "POD", "https://pod-point.example.com"),
    ("Shell Recharge", "SHL", "https://shellrecharge.example.com"),
    ("InstaVolt", "INV", "https://instavolt.example.co.uk"),
    ("Osprey Charging", "OSP", "https://ospreycharging.example.co.uk"),
    ("Char.gy", "CGY", "https://char.gy.example"),
    ("ChargePlace Scotland", "CPS", "https://chargeplacescotland.example.org"),
    ("Gridserve", "GSV", "https://gridserve.example.com"),
)

# (connector type, rated kW, volts, amps, charge method)
AC_CONNECTORS: tuple[tuple[str, str, str, str, str], ...] = (
    ("Type 2 Mennekes (IEC62196)", "22.0", "400", "32", "Three Phase AC"),
    ("Type 2 Mennekes (IEC62196)", "7.0", "230", "32", "Single Phase AC"),
    ("3-pin Type G (BS1363)", "3.0", "230", "13", "Single Phase AC"),
)
DC_CONNECTORS: tuple[tuple[str, str, str, str, str], ...] = (
    ("CCS Type 2 Combo (IEC62196)", "150.0", "500", "300", "DC"),
    ("CCS Type 2 Combo (IEC62196)", "50.0", "500", "125", "DC"),
    ("JEVS G105 (CHAdeMO) DC", "50.0", "500", "125", "DC"),
)
