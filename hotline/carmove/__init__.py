"""Car moving (挪车) with masked numbers: the hotline calls a car's owner
from a pool number X and connects the two without either seeing the other's
number."""
