import pytest

from services.marketplace.kit.uscc import USCCError, check_character, validate_uscc

VALID_CODES = ["91350100M000100Y43", "91110000802100433B", "91440300708461136T"]


@pytest.mark.parametrize("code", VALID_CODES)
def test_valid_code_is_returned_unchanged(code: str) -> None:
    assert validate_uscc(code) == code


def test_check_character_of_well_known_code() -> None:
    assert check_character("91350100M000100Y4") == "3"


def test_check_character_is_zero_when_weighted_sum_is_a_multiple_of_31() -> None:
    assert check_character("0" * 17) == "0"


def test_lowercase_and_surrounding_spaces_are_normalised() -> None:
    assert validate_uscc("  91350100m000100y43\n") == "91350100M000100Y43"


def test_wrong_check_character_names_the_expected_one() -> None:
    with pytest.raises(USCCError) as caught:
        validate_uscc("91350100M000100Y44")
    assert caught.value.expected_check == "3"
    assert caught.value.message == "统一社会信用代码校验位错误，应为 3"
    assert str(caught.value) == caught.value.message


def test_single_character_typo_is_caught_by_check_character() -> None:
    with pytest.raises(USCCError) as caught:
        validate_uscc("91350100M000200Y43")
    assert caught.value.expected_check is not None
    assert caught.value.expected_check != "3"


@pytest.mark.parametrize("code", ["", "91350100M000100Y4", "91350100M000100Y433"])
def test_wrong_length_is_rejected(code: str) -> None:
    with pytest.raises(USCCError, match="应为 18 位") as caught:
        validate_uscc(code)
    assert caught.value.expected_check is None


@pytest.mark.parametrize("forbidden", ["I", "O", "Z", "S", "V"])
def test_forbidden_letters_are_rejected(forbidden: str) -> None:
    code = "91350100M000100" + forbidden + "43"
    with pytest.raises(USCCError, match=f"非法字符：「{forbidden}」") as caught:
        validate_uscc(code)
    assert caught.value.expected_check is None


def test_punctuation_inside_is_rejected() -> None:
    with pytest.raises(USCCError, match="非法字符：「-」"):
        validate_uscc("91350100-000100Y43")


def test_unknown_registration_department_is_rejected() -> None:
    first17 = "B1350100M000100Y4"
    with pytest.raises(USCCError, match="登记管理部门代码"):
        validate_uscc(first17 + check_character(first17))


@pytest.mark.parametrize("first2", ["94", "Y2", "50", "A3"])
def test_category_not_allowed_for_department_is_rejected(first2: str) -> None:
    first17 = first2 + "350100M000100Y4"
    with pytest.raises(USCCError, match="机构类别代码"):
        validate_uscc(first17 + check_character(first17))


@pytest.mark.parametrize("first2", ["11", "12", "31", "51", "52", "53", "81", "92", "93", "A1", "N2", "Y1"])
def test_every_listed_department_and_category_is_accepted(first2: str) -> None:
    first17 = first2 + "350100M000100Y4"
    assert validate_uscc(first17 + check_character(first17)) == first17 + check_character(first17)


def test_region_part_must_be_digits() -> None:
    first17 = "9135A100M000100Y4"
    with pytest.raises(USCCError, match="行政区划码"):
        validate_uscc(first17 + check_character(first17))


def test_historic_region_code_is_accepted() -> None:
    # 500105 (重庆江北区) was abolished in 2025, yet codes issued there stay valid.
    first17 = "91500105M000100Y4"
    assert validate_uscc(first17 + check_character(first17)).startswith("91500105")


def test_check_character_rejects_wrong_length() -> None:
    with pytest.raises(USCCError, match="17 位"):
        check_character("91350100M000100Y")
