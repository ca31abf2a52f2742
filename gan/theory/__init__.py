"""The two-player game made visible for the toy sets: densities and D* (`density`), states (`state`), pictures (`plots`)."""
