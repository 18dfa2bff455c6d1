"""Where the shipped rules files are: one place for their names, importable without
loading numpy or pandas (the service's settings read these at start)."""

from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
CATALOGUE = DATA / "offence_catalogue.yaml"
SCORING_CONFIG = DATA / "rfg_config.yaml"
SHORTLIST_RULES = DATA / "shortlists.yaml"
IDIOM_RULES = DATA / "idiom.yaml"
RETENTION_RULE = DATA / "retention.yaml"
