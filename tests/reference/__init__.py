"""An independent reference settlement: a subset of each city's rules, written by hand from the
regulation (shared/seeds) and domain.md with exact fractions, importing nothing from the
package. tests/test_reference.py compares the engine with it to the fen over generated years.
Each module says which rules it covers."""

from . import binzhou, shaoxing, suihua, suizhou, ziyang

CITIES = {"suihua": suihua, "suizhou": suizhou, "shaoxing": shaoxing, "binzhou": binzhou, "ziyang": ziyang}
