"""Places: ports everywhere, learned anchorages, the watch areas near Nampo and Najin, land,
shore and the geometry they share.
"""
