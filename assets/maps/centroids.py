#!/usr/bin/env python3
"""Writes centroids.csv (code,longitude,latitude) from the maps' `cp` (centre point) properties:
Sichuan's 21 cities and 183 counties. Used by 成果转化's nearest-platform suggestion when a record
has a region but no coordinates. Run from the repository root: python3 assets/maps/centroids.py"""
import glob
import json

rows = []
for f in json.load(open("assets/maps/sichuan.json"))["features"]:
    p = f["properties"]
    rows.append((p["code"], p["cp"][0], p["cp"][1]))
for path in sorted(glob.glob("assets/maps/counties/*.json")):
    for f in json.load(open(path))["features"]:
        p = f["properties"]
        rows.append((p["code"], p["cp"][0], p["cp"][1]))
with open("assets/maps/centroids.csv", "w") as out:
    out.write("code,longitude,latitude\n")
    for code, lon, lat in rows:
        out.write(f"{code},{lon:.5f},{lat:.5f}\n")
