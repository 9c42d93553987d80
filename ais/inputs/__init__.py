"""Reading and cleaning: files of any layout (Parquet, CSV, NMEA) into clean pings, and what
an MMSI, a name or a navigational status says.
"""
