"""Tracks: pings split into tracks and segments, where and when the data can see, and
transmitters that are not vessels (fishing gear).
"""
