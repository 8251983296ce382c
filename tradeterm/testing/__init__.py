"""The shipped test kit: configs and drivers that run the real node on the sim venue."""
