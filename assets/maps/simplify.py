#!/usr/bin/env python3
"""Makes the dashboard's maps from ../shared/data/maps (see assets/maps/README.md).

Usage: simplify.py SRC_DIR OUT_DIR
  sichuan-cities.geojson   -> OUT_DIR/sichuan.json          (21 cities, tolerance 0.004 deg)
  sichuan-counties.geojson -> OUT_DIR/counties/<city>.json  (its counties, tolerance 0.002 deg)
Rings are simplified with Douglas-Peucker; rings that collapse below 4 points are dropped
(a feature keeps at least its largest ring). Coordinates rounded to 3 decimals (about 100 m).
"""
import json, os, sys


def dp(points, tol):
    if len(points) < 3:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        a, b = stack.pop()
        (x1, y1), (x2, y2) = points[a], points[b]
        dx, dy = x2 - x1, y2 - y1
        norm = (dx * dx + dy * dy) ** 0.5
        best, idx = -1.0, -1
        for i in range(a + 1, b):
            x, y = points[i]
            if norm == 0:
                d = ((x - x1) ** 2 + (y - y1) ** 2) ** 0.5
            else:
                d = abs(dy * x - dx * y + x2 * y1 - y2 * x1) / norm
            if d > best:
                best, idx = d, i
        if idx >= 0 and best > tol:
            keep[idx] = True
            stack.append((a, idx))
            stack.append((idx, b))
    return [p for p, k in zip(points, keep) if k]


def ring(r, tol):
    out = [[round(x, 3), round(y, 3)] for x, y in dp(r, tol)]
    dedup = [p for i, p in enumerate(out) if i == 0 or p != out[i - 1]]
    return dedup if len(dedup) >= 4 else None


def area(r):
    return abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(r, r[1:]))) / 2


def geometry(g, tol):
    polys = g["coordinates"] if g["type"] == "MultiPolygon" else [g["coordinates"]]
    out = []
    for poly in polys:
        rings = [ring(r, tol) for r in poly]
        if rings[0] is None:
            continue
        out.append([r for r in rings if r is not None])
    if not out:  # keep the largest outer ring unsimplified
        biggest = max((p[0] for p in polys), key=area)
        out = [[[[round(x, 3), round(y, 3)] for x, y in biggest]]]
    return {"type": "MultiPolygon", "coordinates": out}


def feature(f, tol):
    p = f["properties"]
    props = {"code": p["code"], "name": p["name"], "cp": p["cp"]}
    return {"type": "Feature", "id": f["id"], "properties": props, "geometry": geometry(f["geometry"], tol)}


def write(path, features):
    with open(path, "w", encoding="utf-8") as out:
        json.dump({"type": "FeatureCollection", "features": features}, out, ensure_ascii=False, separators=(",", ":"))


def main(src, dst):
    cities = json.load(open(os.path.join(src, "sichuan-cities.geojson"), encoding="utf-8"))
    counties = json.load(open(os.path.join(src, "sichuan-counties.geojson"), encoding="utf-8"))
    os.makedirs(os.path.join(dst, "counties"), exist_ok=True)
    write(os.path.join(dst, "sichuan.json"), [feature(f, 0.004) for f in cities["features"]])
    by_city = {}
    for f in counties["features"]:
        by_city.setdefault(f["properties"]["city_code"], []).append(feature(f, 0.002))
    for city, fs in sorted(by_city.items()):
        write(os.path.join(dst, "counties", city + ".json"), sorted(fs, key=lambda f: f["id"]))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
