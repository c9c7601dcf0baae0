"""Importing region outlines (GeoJSON) for the leaders' map.

A county hands a FeatureCollection, one feature per township or village (or a city, one per county).
Each feature names its region by a code property (`code`, `adcode`, `region_code`, `区划代码`: 6, 9 or
12 digits) or, failing that, by a name (`name`, `名称`) that must be one region's only. The whole file is
checked before anything is kept: every problem is reported with the feature's number and a reason in
Chinese, and a file with any problem changes nothing. Importing again replaces a region's outline.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction

from safetynet.regions.models import Boundary, Region

MAX_BYTES = 64 * 1024 * 1024  # a county's villages at survey precision are a few MB; 64 MB is a mistake
MAX_POINTS = 2_000_000
CODE_KEYS = ("code", "adcode", "region_code", "区划代码")
NAME_KEYS = ("name", "名称")


class BoundaryError(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__(
            "；".join(problems[:20]) + (f"（共 {len(problems)} 处问题）" if len(problems) > 20 else "")
        )
        self.problems = problems


@dataclass
class Imported:
    regions: list[str] = field(default_factory=list)


def import_file(path: Path) -> Imported:
    if path.stat().st_size > MAX_BYTES:
        raise BoundaryError([f"文件超过 {MAX_BYTES // 1024 // 1024} MB，请按县分开导入"])
    raw = path.read_bytes()
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise BoundaryError(["文件不是 UTF-8 编码的 GeoJSON"]) from None
    except json.JSONDecodeError as e:
        raise BoundaryError([f"不是有效的 JSON：第 {e.lineno} 行第 {e.colno} 列"]) from None
    return import_collection(data)


def import_collection(data: Any) -> Imported:
    if (
        not isinstance(data, dict)
        or data.get("type") != "FeatureCollection"
        or not isinstance(data.get("features"), list)
    ):
        raise BoundaryError(["文件应为 GeoJSON 的 FeatureCollection"])
    problems: list[str] = []
    kept: dict[str, dict[str, Any]] = {}
    points = 0
    for n, feature in enumerate(data["features"], 1):
        where = f"第 {n} 个要素"
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            problems.append(f"{where}不是 Feature")
            continue
        given = feature.get("properties")
        props: dict[str, Any] = given if isinstance(given, dict) else {}
        region, why = _region(props)
        if region is None:
            problems.append(f"{where}：{why}")
            continue
        geometry = feature.get("geometry")
        count, why = _check_geometry(geometry)
        if why:
            problems.append(f"{where}（{region.name}）：{why}")
            continue
        points += count
        if region.code in kept:
            problems.append(f"{where}（{region.name}）：与前面的要素是同一地区")
            continue
        kept[region.code] = {
            "type": "Feature",
            "properties": {"code": region.code, "name": region.name},
            "geometry": geometry,
        }
    if points > MAX_POINTS:
        problems.append(f"坐标点共 {points} 个，超过 {MAX_POINTS} 个，请先简化边界")
    if not kept and not problems:
        problems.append("文件中没有要素")
    if problems:
        raise BoundaryError(problems)
    with transaction.atomic():
        for code, feature in kept.items():
            Boundary.objects.update_or_create(region_id=code, defaults={"feature": feature})
    return Imported(sorted(kept))


def _region(props: dict[str, Any]) -> tuple[Region | None, str]:
    for key in CODE_KEYS:
        if props.get(key) not in (None, ""):
            code = str(props[key]).strip()
            if not code.isdigit() or len(code) not in (6, 9, 12):
                return None, f"区划代码“{code[:20]}”应为 6、9 或 12 位数字"
            region = Region.objects.filter(code=code.ljust(12, "0")).first()
            return (region, "") if region else (None, f"区划代码 {code} 不在已导入的行政区划中")
    for key in NAME_KEYS:
        if props.get(key):
            name = str(props[key]).strip()[:100]
            found = list(Region.objects.filter(name=name)[:2])
            if len(found) == 1:
                return found[0], ""
            return (
                None,
                f"名称“{name}”{'对应多个地区，请改用区划代码' if found else '不在已导入的行政区划中'}",
            )
    return None, "没有区划代码（code）或名称（name）"


def _check_geometry(geometry: Any) -> tuple[int, str]:
    """(points, problem): a Polygon or MultiPolygon of finite longitude/latitude pairs."""
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        return 0, "几何类型应为 Polygon 或 MultiPolygon"
    coordinates = geometry.get("coordinates")
    polygons: Any = [coordinates] if geometry["type"] == "Polygon" else coordinates
    points = 0
    try:
        for polygon in polygons:
            for ring in polygon:
                if len(ring) < 4:
                    return 0, "多边形的环至少需要 4 个点"
                for point in ring:
                    lon, lat = float(point[0]), float(point[1])
                    if not (
                        math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90
                    ):
                        return 0, "坐标应为经纬度（WGS 84）"
                    points += 1
    except (TypeError, ValueError, IndexError):
        return 0, "坐标格式不正确"
    return points, ""
