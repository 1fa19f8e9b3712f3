"""Community grid stations (社区网格): the units that own addresses."""
