"""The nightly memory: the state database, what one night carries to the next, long inputs
scanned day by day, and route memory across nights.
"""
