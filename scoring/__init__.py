"""Pure scoring library: numpy, pandas and scikit-learn only (no web or database imports)."""

from scoring.catalogue import CatalogueError, OffenceCatalogue, load_catalogue, normalise_ho_code

__all__ = ["CatalogueError", "OffenceCatalogue", "load_catalogue", "normalise_ho_code"]
