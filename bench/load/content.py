"""Request bodies for the load test, recombined from the bundled demo data and checked against the real models.

Every body built here is validated once, at import, with the service's own input models
(``AchievementCreate``, ``DemandCreate``) and the import parser, so that a 4xx during the load test is a
real error and never a malformed request of ours.
"""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

from services.marketplace.kit.taxonomy import field_code_by_name, industry_code_by_name
from services.marketplace.listings import imports
from services.marketplace.listings.schemas import AchievementCreate, DemandCreate

# Search terms people type: the keywords of the demo listings plus a few broad words.
BROAD_TERMS = ("电池", "人工智能", "传感器", "新材料", "检测", "芯片", "压缩机", "机器人", "医药", "光伏")
TRANSFER_MODES = ("transfer", "license", "equity", "co_development", "service", "consulting")
# Offers in deal rooms use the modes whose contract type is complete after a PATCH (see negotiation in
# locustfile.py): their contract sub-type is chosen here.
OFFER_SUBTYPES = {"license": "patent_license", "transfer": "technical_secret", "service": "general"}
REGIONS = ("34", "3401", "340104", "340111", "31", "32")


def _records(filename: str) -> list[dict[str, Any]]:
    text = resources.files("services.marketplace").joinpath("seed_data", filename).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


ACHIEVEMENT_RECORDS = _records("achievements.jsonl")
DEMAND_RECORDS = _records("demands.jsonl")
SEARCH_TERMS = (
    tuple(sorted({keyword for record in ACHIEVEMENT_RECORDS + DEMAND_RECORDS for keyword in record["keywords"]}))
    + BROAD_TERMS
)
FIELD_CODES = tuple(sorted(set(field_code_by_name().values())))


def _future(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def achievement_body(rng: random.Random, serial: int) -> dict[str, Any]:
    record = rng.choice(ACHIEVEMENT_RECORDS)
    price = record["price_fen"]
    body: dict[str, Any] = {
        "title": f"{record['title']}（{serial}）",
        "summary": record["summary"],
        "description": record["description"],
        "field_code": field_code_by_name()[record["field"]],
        "industry_code": industry_code_by_name().get(record["industry"]),
        "keywords": record["keywords"],
        "trl": record["trl"],
        "ip_items": [{"type": item["type"], "number": item["number"], "status": "granted"} for item in record["ip"]],
        "transfer_modes": record["transfer_modes"],
        "price_mode": "negotiable" if price is None else "fixed",
        "price_fen": price,
        "team": [{"name": "课题组负责人", "title": "教授", "role": "负责人"}],
        "region_code": "340111",
        "valid_until": _future(730),
        "contact": {"name": "成果转化办公室", "phone": "0551-63600000"},
    }
    return body


def achievement_edit(rng: random.Random) -> dict[str, Any]:
    """A partial update of a draft, as someone polishing it before submission."""
    record = rng.choice(ACHIEVEMENT_RECORDS)
    return rng.choice(
        (
            {"summary": record["summary"]},
            {"keywords": record["keywords"], "trl": record["trl"]},
            {"description": record["description"]},
        )
    )


def demand_body(rng: random.Random, serial: int) -> dict[str, Any]:
    record = rng.choice(DEMAND_RECORDS)
    return {
        "title": f"{record['title']}（{serial}）",
        "problem": record["problem"],
        "technical_indicators": record["indicators"],
        "existing_conditions": "具备中试条件和检测设备",
        "budget_min_fen": record["budget_min_fen"],
        "budget_max_fen": record["budget_max_fen"],
        "cooperation_modes": record["cooperation_modes"],
        "field_code": field_code_by_name()[record["field"]],
        "industry_code": industry_code_by_name().get(record["industry"]),
        "keywords": record["keywords"],
        "min_trl": record["min_trl"],
        "region_code": "340104",
        "deadline": _future(365),
        "confidentiality": rng.choices(("public", "members"), (4, 1))[0],
        "contact": {"name": "技术需求联系人", "phone": "13800000000"},
    }


def demand_edit(rng: random.Random) -> dict[str, Any]:
    record = rng.choice(DEMAND_RECORDS)
    return rng.choice(({"technical_indicators": record["indicators"]}, {"keywords": record["keywords"]}))


_IP_LABELS = {value: label for label, value in imports.IP_TYPE_LABELS.items()}
_MODE_LABELS = {value: label for label, value in imports.TRANSFER_MODE_LABELS.items()}


def import_csv(rng: random.Random, serial: int, rows: int) -> bytes:
    """A small spreadsheet in the download template's layout (UTF-8 with BOM, as Excel saves it)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([column.header for column in imports.COLUMNS])
    for row in range(rows):
        record = rng.choice(ACHIEVEMENT_RECORDS)
        price = record["price_fen"]
        values = {
            "title": f"{record['title']}（批量{serial}-{row + 1}）",
            "summary": record["summary"],
            "description": record["description"],
            "field_code": record["field"],
            "industry_code": record["industry"],
            "keywords": "；".join(record["keywords"]),
            "trl": str(record["trl"]),
            "ip_items": "；".join(f"{_IP_LABELS[item['type']]} {item['number']} 已授权" for item in record["ip"]),
            "transfer_modes": "；".join(_MODE_LABELS[mode] for mode in record["transfer_modes"]),
            "price_mode": "面议" if price is None else "定价",
            "price": "" if price is None else str(price // 100),
            "team": "课题组负责人",
            "region_code": "340111",
            "valid_until": (datetime.now(UTC) + timedelta(days=730)).date().isoformat(),
            "contact_name": "成果转化办公室",
            "contact_phone": "0551-63600000",
            "contact_email": "",
        }
        writer.writerow([values[column.key] for column in imports.COLUMNS])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def multipart(filename: str, content: bytes, content_type: str, boundary: str) -> bytes:
    return (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )


def self_check() -> None:
    """Every body this module can build passes the service's own validation (run at import by the locustfile)."""
    rng = random.Random(0)
    for index, _ in enumerate(ACHIEVEMENT_RECORDS * 2):
        AchievementCreate.model_validate(achievement_body(rng, index))
    for index, _ in enumerate(DEMAND_RECORDS * 4):
        DemandCreate.model_validate(demand_body(rng, index))
    parsed = imports.parse_file("check.csv", import_csv(rng, 0, 50))
    _, errors = imports.validate_rows(parsed)
    if errors:
        raise AssertionError(f"generated import rows do not validate: {errors[:3]}")
