"""ISO 3166-1 alpha-2 country codes, for parties outside China (境外当事人).

Mainland China, Hong Kong, Macao and Taiwan have GB/T 2260 region codes (``kit/regions.py``), so a party
there is located by its region code; a country code names every other place.
"""

from __future__ import annotations

# The 249 officially assigned ISO 3166-1 alpha-2 codes.
_ASSIGNED = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY
    BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK
    FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR
    IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK
    ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF
    TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
"""
ISO_3166_ALPHA_2 = frozenset(_ASSIGNED.split())
# Places with a GB/T 2260 code: 中国大陆, 香港 (810000), 澳门 (820000), 台湾 (710000).
HAS_REGION_CODE = frozenset({"CN", "HK", "MO", "TW"})


class CountryError(ValueError):
    """An unknown country code, or one whose place has a region code instead; ``message`` is shown to people."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def validate_country_code(code: str) -> str:
    normalised = code.strip().upper()
    if normalised not in ISO_3166_ALPHA_2:
        raise CountryError(f"国家或地区代码 {code!r} 不是 ISO 3166-1 二位字母代码")
    if normalised in HAS_REGION_CODE:
        raise CountryError(f"{normalised} 的当事人请填写行政区划代码（GB/T 2260），而不是国家或地区代码")
    return normalised
