"""Chinese names of the breakdowns and their values, for the dashboard and the export."""

from __future__ import annotations

from services.marketplace.kit import taxonomy
from services.marketplace.kit.regions import get_region, regions_under

DIMENSIONS = {
    "contract_type": "合同类型",
    "field": "技术领域",
    "seller_kind": "卖方性质",
    "district": "区县",
    "counterpart": "对方所在地",
}
CONTRACT_TYPES = {
    "development": "技术开发",
    "transfer": "技术转让",
    "license": "技术许可",
    "consulting": "技术咨询",
    "service": "技术服务",
}
SELLER_KINDS = {"enterprise": "企业", "research_institute": "科研机构", "university": "高等院校", "other": "其他"}
COUNTERPARTS = {
    "same_city": "本市",
    "same_province": "省内其他",
    "yangtze_delta": "长三角",
    "rest_of_china": "国内其他",
    "abroad": "境外",
}
UNKNOWN_FIELD = "未填写"


def field_names() -> dict[str, str]:
    return {code: field.name for code, field in taxonomy.fields().items()} | {"unknown": UNKNOWN_FIELD}


def region_name(code: str) -> str:
    region = get_region(code)
    return region.name if region else code


def value_names(dimension: str, scope: str) -> dict[str, str]:
    """Known values of a breakdown with their names (districts: the units under ``scope``)."""
    if dimension == "contract_type":
        return CONTRACT_TYPES
    if dimension == "field":
        return field_names()
    if dimension == "seller_kind":
        return SELLER_KINDS
    if dimension == "counterpart":
        return COUNTERPARTS
    if dimension == "district":
        return {region.code: region.name for region in regions_under(scope)}
    raise ValueError(f"unknown breakdown {dimension!r}")


def value_name(dimension: str, value: str, scope: str) -> str:
    names = value_names(dimension, scope)
    if value in names:
        return names[value]
    return region_name(value) if dimension == "district" else value
