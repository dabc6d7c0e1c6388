import csv
from pathlib import Path

import pytest

from services.marketplace.kit import regions
from services.marketplace.kit.regions import (
    Region,
    RegionError,
    city_of,
    get_region,
    in_region,
    province_of,
    validate_region_code,
)

SHARED_REGIONS_CSV = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "regions.csv"


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("340104", "蜀山区"),
        ("340100", "合肥市"),
        ("340000", "安徽省"),
        ("310104", "徐汇区"),
        ("440305", "南山区"),
        ("429004", "仙桃市"),
        ("659001", "石河子市"),
        ("441900", "东莞市"),
        ("500229", "城口县"),
    ],
)
def test_current_codes_are_valid(code: str, name: str) -> None:
    assert validate_region_code(code) == code
    region = get_region(code)
    assert region is not None
    assert region.name == name


def test_surrounding_spaces_are_stripped() -> None:
    assert validate_region_code(" 340104 ") == "340104"


def test_hefei_district_hangs_off_hefei() -> None:
    assert get_region("340104") == Region(code="340104", name="蜀山区", level="county", parent="340100")


def test_municipality_district_and_direct_county_hang_off_the_province() -> None:
    assert get_region("310104") == Region(code="310104", name="徐汇区", level="county", parent="310000")
    assert get_region("429004") == Region(code="429004", name="仙桃市", level="county", parent="420000")


@pytest.mark.parametrize("code", ["999999", "340199", "349901", "500105"])
def test_unknown_or_abolished_codes_are_invalid(code: str) -> None:
    with pytest.raises(RegionError, match=f"{code} 不存在"):
        validate_region_code(code)


@pytest.mark.parametrize("code", ["", "34010", "3401040", "34010a", "３４０１０４"])
def test_malformed_codes_are_invalid(code: str) -> None:
    with pytest.raises(RegionError, match="6 位数字"):
        validate_region_code(code)


def test_county_whose_city_is_missing_is_invalid(monkeypatch: pytest.MonkeyPatch) -> None:
    table = {
        "340000": Region("340000", "安徽省", "province", None),
        "349901": Region("349901", "无主县", "county", "349900"),
    }
    monkeypatch.setattr(regions, "_region_table", lambda: table)
    with pytest.raises(RegionError, match="上级区划 349900 不存在"):
        validate_region_code("349901")


def test_direct_county_needs_only_its_province(monkeypatch: pytest.MonkeyPatch) -> None:
    table = {
        "420000": Region("420000", "湖北省", "province", None),
        "429004": Region("429004", "仙桃市", "county", "420000"),
    }
    monkeypatch.setattr(regions, "_region_table", lambda: table)
    assert validate_region_code("429004") == "429004"


def test_every_shipped_code_validates() -> None:
    table = regions._region_table()
    assert len(table) > 3000
    for code in table:
        assert validate_region_code(code) == code


def test_every_shared_region_row_is_shipped_unchanged() -> None:
    with SHARED_REGIONS_CSV.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    assert rows
    for row in rows:
        region = get_region(row["code"])
        assert region is not None, row["code"]
        assert region.name == row["name"]
        assert region.parent == (row["parent"] or None)
        assert region.level == {"district": "county"}.get(row["level"], row["level"])


@pytest.mark.parametrize(
    ("code", "prefix", "inside"),
    [
        ("340104", "3401", True),
        ("340104", "34", True),
        ("340104", "340100", True),
        ("340104", "340000", True),
        ("340104", "340104", True),
        ("340181", "3401", True),
        ("340202", "3401", False),
        ("310104", "34", False),
        ("341002", "3410", True),
        ("341002", "341000", True),
        ("341002", "3401", False),
    ],
)
def test_in_region_is_prefix_containment(code: str, prefix: str, inside: bool) -> None:
    assert in_region(code, prefix) is inside


@pytest.mark.parametrize("prefix", ["", "3", "340", "34a1", "3401001"])
def test_in_region_rejects_malformed_prefix(prefix: str) -> None:
    with pytest.raises(RegionError, match="区划前缀"):
        in_region("340104", prefix)


def test_province_of() -> None:
    assert province_of("340104") == "340000"
    assert province_of("310104") == "310000"
    assert province_of("340000") == "340000"


@pytest.mark.parametrize(
    ("code", "city"),
    [
        ("340104", "340100"),
        ("340100", "340100"),
        ("441900", "441900"),
        ("340000", None),
        ("310104", None),
        ("500229", None),
        ("429004", None),
        ("500105", None),
    ],
)
def test_city_of(code: str, city: str | None) -> None:
    assert city_of(code) == city


def test_province_and_city_reject_malformed_codes() -> None:
    with pytest.raises(RegionError):
        province_of("34")
    with pytest.raises(RegionError):
        city_of("abcdef")
