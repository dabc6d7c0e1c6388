"""Re-ranking of search candidates into recommendations, each with the reasons a person can read.

The search engine finds candidates by text; this module orders them by what a technology transfer actually
needs: the same field and industry, a mature enough technology (TRL), a price the buyer budgeted for, a
transfer mode both sides accept, and a partner close by (a Hefei buyer favours 就地转化). Every feature gives a
credit in [0, 1]; the score is the weighted sum, with weights from ``data/ranking.toml``.

Documents are the index documents of ``services.matching.indexes`` (plain dicts). Money is integer fen and is
only ever formatted with integer arithmetic.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from services.matching.query import Hit

FEN_PER_WAN = 1_000_000  # 万元 = 10⁴ yuan = 10⁶ fen
SECONDS_PER_DAY = 86_400

# National high-tech fields and Hefei key industries (codes as in the marketplace's taxonomy data).
FIELD_NAMES: dict[str, str] = {
    "electronic_information": "电子信息",
    "biomedicine": "生物与新医药",
    "aerospace": "航空航天",
    "new_materials": "新材料",
    "high_tech_services": "高技术服务",
    "new_energy": "新能源与节能",
    "resources_environment": "资源与环境",
    "advanced_manufacturing": "先进制造与自动化",
}
INDUSTRY_NAMES: dict[str, str] = {
    "integrated_circuits": "集成电路",
    "new_display": "新型显示",
    "artificial_intelligence": "人工智能",
    "quantum": "量子信息",
    "cybersecurity": "网络与信息安全",
    "new_energy_vehicles": "新能源汽车暨智能网联汽车",
    "biomedicine": "生物医药",
    "energy_saving_environment": "节能环保",
    "photovoltaics_new_energy": "光伏及新能源",
    "digital_creative": "数字创意",
    "space_information": "空天信息",
    "brain_inspired_intelligence": "类脑智能",
    "high_temperature_superconductivity": "高温超导",
    "ultra_high_field_mri": "超高场磁共振",
    "precision_medicine": "精准医疗",
    "genomics": "基因技术",
    "advanced_nuclear": "先进核能",
    "bio_manufacturing": "生物制造",
    "smart_home_appliances": "智能家电",
    "high_end_equipment": "高端装备",
    "advanced_materials": "新材料",
    "modern_agriculture": "现代农业",
}
MODE_NAMES: dict[str, str] = {
    "transfer": "转让",
    "license": "许可",
    "equity": "作价投资",
    "co_development": "合作开发",
    "service": "技术服务",
    "consulting": "技术咨询",
}
# GB/T 2260 province-level codes (first two digits).
PROVINCE_NAMES: dict[str, str] = {
    "11": "北京",
    "12": "天津",
    "13": "河北",
    "14": "山西",
    "15": "内蒙古",
    "21": "辽宁",
    "22": "吉林",
    "23": "黑龙江",
    "31": "上海",
    "32": "江苏",
    "33": "浙江",
    "34": "安徽",
    "35": "福建",
    "36": "江西",
    "37": "山东",
    "41": "河南",
    "42": "湖北",
    "43": "湖南",
    "44": "广东",
    "45": "广西",
    "46": "海南",
    "50": "重庆",
    "51": "四川",
    "52": "贵州",
    "53": "云南",
    "54": "西藏",
    "61": "陕西",
    "62": "甘肃",
    "63": "青海",
    "64": "宁夏",
    "65": "新疆",
    "71": "台湾",
    "81": "香港",
    "82": "澳门",
}

_CONFIG_FILE = "ranking.toml"


# --------------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Reason:
    """One readable reason: ``code`` for clients, ``text`` in Chinese, ``weight`` its share of the score.

    Unmet conditions (TRL too low, over budget, no common transfer mode) are reasons too, with weight 0 or the
    small partial credit they still earn, so a person sees why a candidate ranks lower.
    """

    code: str
    text: str
    weight: float


@dataclass(frozen=True)
class Match:
    document: dict[str, Any]
    score: float
    reasons: list[Reason] = field(default_factory=list)


# --------------------------------------------------------------------------------------------------- weights


@dataclass(frozen=True)
class RankingWeights:
    """Feature weights and the shape of each feature's credit; see ``data/ranking.toml``."""

    lexical: float = 0.1
    matched_terms: float = 1.0
    field: float = 0.3
    industry: float = 0.3
    trl: float = 0.1
    price: float = 0.4
    mode: float = 0.2
    all_conditions: float = 0.3
    locality: float = 0.05
    freshness: float = 0.02
    trl_below: tuple[float, ...] = (0.5, 0.2)
    price_negotiable: float = 0.65
    price_below_budget: float = 0.5
    price_over_budget: float = 0.5
    price_over_budget_tolerance: float = 0.5
    hefei_prefix: str = "3401"
    same_province: float = 0.5
    freshness_half_life_days: float = 180.0
    max_terms: int = 5

    def replace(self, **changes: Any) -> RankingWeights:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_toml(cls, data: Mapping[str, Any]) -> RankingWeights:
        """From the parsed ``ranking.toml`` layout; missing entries keep their defaults, unknown ones are an error."""
        unknown = [f"[{section}]" for section in data if section not in _TOML_KEYS]
        unknown += [
            f"{section}.{key}"
            for section, table in data.items()
            if section in _TOML_KEYS
            for key in table
            if key not in _TOML_KEYS[section]
        ]
        if unknown:
            raise ValueError(f"unknown ranking settings: {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for section, table in data.items():
            for key, value in table.items():
                name = _TOML_KEYS[section][key]
                default = getattr(cls, name)
                if isinstance(default, tuple):
                    values[name] = tuple(float(item) for item in value)
                else:
                    values[name] = type(default)(value)
        return cls(**values)


_FEATURES = (
    "lexical",
    "matched_terms",
    "field",
    "industry",
    "trl",
    "price",
    "mode",
    "all_conditions",
    "locality",
    "freshness",
)
# ranking.toml section → key → RankingWeights field
_TOML_KEYS: dict[str, dict[str, str]] = {
    "weights": {name: name for name in _FEATURES},
    "trl": {"below": "trl_below"},
    "price": {key: f"price_{key}" for key in ("negotiable", "below_budget", "over_budget", "over_budget_tolerance")},
    "locality": {"hefei_prefix": "hefei_prefix", "same_province": "same_province"},
    "freshness": {"half_life_days": "freshness_half_life_days"},
    "reasons": {"max_terms": "max_terms"},
}


def load_weights(path: Path | None = None) -> RankingWeights:
    """The weights of ``path``, or of the bundled ``data/ranking.toml``."""
    if path is None:
        text = resources.files("services.matching").joinpath("data", _CONFIG_FILE).read_text(encoding="utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    return RankingWeights.from_toml(tomllib.loads(text))


@functools.cache
def default_weights() -> RankingWeights:
    """The bundled weights, read once."""
    return load_weights()


# --------------------------------------------------------------------------------------------------- money


def format_wan(fen: int) -> str:
    """Fen as 万元 with up to two decimals, rounded half up, integer arithmetic only: 500000000 → ``"500"``."""
    if type(fen) is not int:
        raise TypeError(f"money must be integer fen, got {type(fen).__name__}")
    sign = "-" if fen < 0 else ""
    hundredths, remainder = divmod(abs(fen), FEN_PER_WAN // 100)
    if 2 * remainder >= FEN_PER_WAN // 100:
        hundredths += 1
    whole, fraction = divmod(hundredths, 100)
    if fraction == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{fraction:02d}".rstrip("0")


def format_budget(budget_min: int | None, budget_max: int | None) -> str:
    if budget_min is not None and budget_max is not None:
        return f"{format_wan(budget_min)}–{format_wan(budget_max)} 万元"
    if budget_max is not None:
        return f"不超过 {format_wan(budget_max)} 万元"
    if budget_min is not None:
        return f"不低于 {format_wan(budget_min)} 万元"
    return "不限"


# --------------------------------------------------------------------------------------------------- features


@dataclass(frozen=True)
class Credit:
    """A feature's credit in [0, 1] and the reason text that explains it (None: nothing to say)."""

    code: str
    credit: float
    text: str | None


def _field_credit(demand: Mapping[str, Any], achievement: Mapping[str, Any]) -> Credit:
    code = demand.get("field_code")
    if code and code == achievement.get("field_code"):
        return Credit("field", 1.0, f"技术领域一致：{FIELD_NAMES.get(code, code)}")
    return Credit("field", 0.0, None)


def _industry_credit(demand: Mapping[str, Any], achievement: Mapping[str, Any]) -> Credit:
    code = demand.get("industry_code")
    if code and code == achievement.get("industry_code"):
        return Credit("industry", 1.0, f"产业方向一致：{INDUSTRY_NAMES.get(code, code)}")
    return Credit("industry", 0.0, None)


def _trl_credit(demand: Mapping[str, Any], achievement: Mapping[str, Any], weights: RankingWeights) -> Credit:
    minimum = demand.get("min_trl")
    trl = achievement.get("trl")
    if trl is None:
        return Credit("trl_unknown", 0.0, None)
    if minimum is None:
        return Credit("trl", 1.0, None)
    if trl >= minimum:
        return Credit("trl", 1.0, f"成熟度 TRL {trl} ≥ 需求最低 TRL {minimum}")
    gap = minimum - trl
    credit = weights.trl_below[gap - 1] if gap <= len(weights.trl_below) else 0.0
    if credit > 0:
        return Credit("trl_close", credit, f"成熟度 TRL {trl} 略低于需求最低 TRL {minimum}")
    return Credit("trl_below", 0.0, f"成熟度 TRL {trl} 低于需求最低 TRL {minimum}")


def _price_credit(demand: Mapping[str, Any], achievement: Mapping[str, Any], weights: RankingWeights) -> Credit:
    low: int | None = demand.get("budget_min_fen")
    high: int | None = demand.get("budget_max_fen")
    price: int | None = achievement.get("price_fen")
    mode = achievement.get("price_mode") or ("negotiable" if price is None else "fixed")
    if low is None and high is None:
        return Credit("price", weights.price_negotiable, None)
    budget = format_budget(low, high)
    if price is None or mode == "negotiable":
        return Credit("price_negotiable", weights.price_negotiable, f"价格面议，需求预算 {budget}")
    label = "起拍价" if mode == "auction" else "价格"
    amount = f"{label} {format_wan(price)} 万元"
    if (low is None or price >= low) and (high is None or price <= high):
        return Credit("price_in_budget", 1.0, f"{amount}在预算 {budget}内")
    if low is not None and price < low:
        credit = weights.price_below_budget * price / low if low > 0 else 0.0
        return Credit("price_below_budget", credit, f"{amount}低于预算下限 {format_wan(low)} 万元")
    assert high is not None
    tolerance = weights.price_over_budget_tolerance * high
    overshoot = price - high
    credit = weights.price_over_budget * max(0.0, 1.0 - overshoot / tolerance) if tolerance > 0 else 0.0
    return Credit("price_over_budget", credit, f"{amount}超出预算上限 {format_wan(high)} 万元")


def _mode_names(modes: Sequence[str]) -> str:
    return "、".join(MODE_NAMES.get(mode, mode) for mode in modes)


def _mode_credit(demand: Mapping[str, Any], achievement: Mapping[str, Any]) -> Credit:
    wanted: list[str] = list(demand.get("cooperation_modes") or [])
    offered: list[str] = list(achievement.get("transfer_modes") or [])
    if not wanted or not offered:
        return Credit("mode", 0.5, None)
    common = [mode for mode in wanted if mode in offered]
    if common:
        return Credit("mode", 1.0, f"转化方式契合：{_mode_names(common)}")
    return Credit("mode_mismatch", 0.0, f"转化方式不符：成果提供{_mode_names(offered)}，需求希望{_mode_names(wanted)}")


def _locality_credit(demand: Mapping[str, Any], achievement: Mapping[str, Any], weights: RankingWeights) -> Credit:
    buyer = str(demand.get("region_code") or "")
    seller = str(achievement.get("region_code") or "")
    if len(buyer) < 2 or len(seller) < 2:
        return Credit("locality", 0.0, None)
    prefix = weights.hefei_prefix
    if buyer.startswith(prefix) and seller.startswith(prefix):
        return Credit("local_conversion", 1.0, "本地转化：双方均在合肥")
    if buyer[:2] == seller[:2]:
        province = PROVINCE_NAMES.get(buyer[:2], buyer[:2])
        return Credit("same_province", weights.same_province, f"同省合作：双方均在{province}")
    return Credit("locality", 0.0, None)


def _freshness_credit(candidate: Mapping[str, Any], now: float, weights: RankingWeights) -> Credit:
    published = candidate.get("published_at")
    if published is None or weights.freshness_half_life_days <= 0:
        return Credit("freshness", 0.0, None)
    age_days = max(0.0, (now - float(published)) / SECONDS_PER_DAY)
    credit: float = 0.5 ** (age_days / weights.freshness_half_life_days)
    if age_days <= weights.freshness_half_life_days / 6:
        return Credit("fresh", credit, f"最近发布：{int(age_days)} 天前")
    return Credit("freshness", credit, None)


def pair_credits(
    demand: Mapping[str, Any],
    achievement: Mapping[str, Any],
    *,
    weights: RankingWeights,
    now: float,
    candidate: Mapping[str, Any] | None = None,
) -> dict[str, Credit]:
    """The structured features of a demand–achievement pair, keyed by weight name."""
    fresh_doc = candidate if candidate is not None else achievement
    credits = {
        "field": _field_credit(demand, achievement),
        "industry": _industry_credit(demand, achievement),
        "trl": _trl_credit(demand, achievement, weights),
        "price": _price_credit(demand, achievement, weights),
        "mode": _mode_credit(demand, achievement),
        "locality": _locality_credit(demand, achievement, weights),
        "freshness": _freshness_credit(fresh_doc, now, weights),
    }
    credits["all_conditions"] = _all_conditions_credit(credits)
    return credits


_FITTING = {"trl": {"trl"}, "price": {"price", "price_in_budget", "price_negotiable"}, "mode": {"mode"}}


def _all_conditions_credit(credits: Mapping[str, Credit]) -> Credit:
    """A demand's hard conditions are TRL, budget and cooperation mode: meeting all three is a different kind of
    match from meeting two, whatever the other features say (面议 counts as within the budget until negotiated)."""
    if all(credits[name].code in codes for name, codes in _FITTING.items()):
        return Credit("all_conditions", 1.0, "满足需求的成熟度、预算和合作方式要求")
    return Credit("all_conditions", 0.0, None)


# --------------------------------------------------------------------------------------------------- ranking


def _idf(hits: Sequence[Hit]) -> dict[str, float]:
    """How telling each matched term is among the candidates: ln(1 + N / df), df = candidates matching it.

    The engine's own score does not know that 压缩机 is in every candidate while 无位置传感器 is in one; the
    candidate list is a good enough sample of the topic to tell them apart.
    """
    frequency: dict[str, int] = {}
    for hit in hits:
        for term in set(hit.matched_terms):
            frequency[term] = frequency.get(term, 0) + 1
    count = len(hits)
    return {term: math.log(1.0 + count / df) for term, df in frequency.items()}


def _readable(term: str) -> bool:
    """Terms worth quoting to a person: not a lone character, unit or number."""
    return len(term) >= 2 and not term.isdigit() and not (term.isascii() and len(term) < 3 and not term.isupper())


def _text_credits(hits: Sequence[Hit], weights: RankingWeights) -> list[tuple[Credit, Credit]]:
    best_score = max((hit.score for hit in hits), default=0.0)
    idf = _idf(hits)
    evidence = [sum(idf[term] for term in set(hit.matched_terms)) for hit in hits]
    best_evidence = max(evidence, default=0.0)
    credits = []
    for hit, strength in zip(hits, evidence, strict=True):
        lexical = hit.score / best_score if best_score > 0 else 0.0
        lexical = min(1.0, max(0.0, lexical))
        relevance = Credit("relevance", lexical, f"内容相关度 {round(lexical * 100)}%" if lexical > 0 else None)
        terms = [term for term in dict.fromkeys(hit.matched_terms) if _readable(term)]
        shown = sorted(terms, key=lambda term: (-idf.get(term, 0.0), -len(term)))[: weights.max_terms]
        text = f"匹配关键词：{'、'.join(shown)}" if shown else None
        coverage = strength / best_evidence if best_evidence > 0 else 0.0
        credits.append((relevance, Credit("matched_terms", coverage, text)))
    return credits


def _match(document: dict[str, Any], named: list[tuple[str, Credit]], weights: RankingWeights) -> Match:
    reasons = []
    score = 0.0
    for name, credit in named:
        contribution = float(getattr(weights, name)) * credit.credit
        score += contribution
        if credit.text is not None:
            reasons.append(Reason(credit.code, credit.text, round(contribution, 4)))
    reasons.sort(key=lambda reason: -reason.weight)
    return Match(document=document, score=round(score, 6), reasons=reasons)


def _rerank(
    anchor: Mapping[str, Any],
    hits: Sequence[Hit],
    *,
    anchor_is_demand: bool,
    weights: RankingWeights | None,
    now: float | None,
) -> list[Match]:
    weights = weights or default_weights()
    moment = time.time() if now is None else now
    matches = []
    for position, (hit, (relevance, terms)) in enumerate(zip(hits, _text_credits(hits, weights), strict=True)):
        demand, achievement = (anchor, hit.document) if anchor_is_demand else (hit.document, anchor)
        features = pair_credits(demand, achievement, weights=weights, now=moment, candidate=hit.document)
        named = [("lexical", relevance), ("matched_terms", terms), *features.items()]
        matches.append((position, _match(hit.document, named, weights)))
    # Ties keep the engine's order.
    matches.sort(key=lambda item: (-item[1].score, item[0]))
    return [match for _, match in matches]


def rerank_achievements(
    demand: Mapping[str, Any],
    hits: Sequence[Hit],
    *,
    weights: RankingWeights | None = None,
    now: float | None = None,
) -> list[Match]:
    """Achievement hits for ``demand``, best first. ``now``: epoch seconds (freshness)."""
    return _rerank(demand, hits, anchor_is_demand=True, weights=weights, now=now)


def rerank_demands(
    achievement: Mapping[str, Any],
    hits: Sequence[Hit],
    *,
    weights: RankingWeights | None = None,
    now: float | None = None,
) -> list[Match]:
    """Demand hits for ``achievement``, best first."""
    return _rerank(achievement, hits, anchor_is_demand=False, weights=weights, now=now)
