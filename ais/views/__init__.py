"""The analyst's views: the flagged-events CSV, the story of one event, maps, GeoJSON/KML/xlsx
exports, the night's HTML report and a vessel's history.
"""
