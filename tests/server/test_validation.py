"""Validation errors in the reader's language, with pydantic's type, field and parameters kept as the API's
contract."""

from __future__ import annotations

import string

import httpx
import pytest

from server import validation
from tests.factories import World

PHONE_RULE = "请填写手机号（11 位，如 138 1234 5678）、带区号的座机（010 1234 5678），境外号码请以 + 开头"
PHONE_RULE_HANT = "請填寫手機號（11 位，如 138 1234 5678）、帶區號的座機（010 1234 5678），境外號碼請以 + 開頭"



def _subject(**changes: object) -> dict[str, object]:
    return {"full_name": "张三", "phone": "13800000001", "grid_id": 1, "observation_type": "home",
            "reason": "返乡", **changes}


async def test_api_validation_errors_follow_accept_language(client: httpx.AsyncClient, world: World) -> None:
    body = _subject(full_name="", phone="12ab34", duration_days=90, observation_type="hotel")
    chinese = await client.post("/api/v1/subjects", json=body, headers={**world.admin_h, "Accept-Language": "zh-CN"})
    assert chinese.status_code == 422
    assert chinese.json()["error"] == "invalid"
    assert chinese.json()["errors"] == [
        {"field": "full_name", "code": "string_too_short", "params": {"min_length": 1}, "detail": "姓名：不能为空"},
        {"field": "phone", "code": "phone", "params": {},
         "detail": f"手机号：{PHONE_RULE}"},
        {"field": "observation_type", "code": "literal_error", "params": {"expected": "'home' or 'centralized'"},
         "detail": "观察方式：应为以下之一：'home'或'centralized'"},
        {"field": "duration_days", "code": "less_than_equal", "params": {"le": 60}, "detail": "观察天数：不能大于 60"},
    ]
    assert chinese.json()["detail"] == "；".join(e["detail"] for e in chinese.json()["errors"])
    traditional = await client.post("/api/v1/subjects", json=body,
                                    headers={**world.admin_h, "Accept-Language": "zh-HK"})
    assert traditional.json()["errors"][1]["detail"] == f"手機號：{PHONE_RULE_HANT}"
    english = await client.post("/api/v1/subjects", json=body, headers=world.admin_h)
    assert english.json()["detail"] == (
        "full_name: must not be empty; phone: write a mobile (11 digits, e.g. 138 1234 5678), a landline with its area "
        "code (010 1234 5678), or a number abroad starting with +; "
        "observation_type: must be one of: 'home' or 'centralized'; duration_days: must be at most 60")


async def test_a_missing_field_and_broken_json_are_explained(client: httpx.AsyncClient, world: World) -> None:
    missing = await client.post("/api/v1/readings", json={}, headers={**world.subj_a, "Accept-Language": "zh-TW"})
    assert missing.status_code == 422
    assert missing.json()["errors"] == [{"field": "temperature_c", "code": "missing", "params": {},
                                         "detail": "體溫：必須填寫"}]
    broken = await client.post("/api/v1/readings", content=b'{"temperature_c": 37.',
                               headers={**world.subj_a, "Accept-Language": "zh-CN",
                                        "Content-Type": "application/json"})
    assert broken.status_code == 422
    assert broken.json()["detail"] == "不是有效的 JSON"
    assert broken.json()["errors"][0]["field"] == ""


@pytest.mark.parametrize(("locale", "expected"), [("zh_Hans", "备注：无效"), ("zh_Hant", "備註：無效"),
                                                  ("en", "Note: Input is odd")])
def test_an_error_type_without_words_of_its_own_is_never_english_in_chinese(locale: str, expected: str) -> None:
    problem = validation.problem({"type": "something_new", "loc": ("body", "note"), "msg": "Input is odd"})
    assert problem.describe(locale) == expected


def test_every_error_type_has_a_message_with_the_parameters_pydantic_gives() -> None:
    # Each template's fields are among the ctx keys pydantic documents for that type.
    ctx = {"string_too_short": {"min_length"}, "string_too_long": {"max_length"}, "too_short": {"min_length"},
           "too_long": {"max_length"}, "greater_than_equal": {"ge"}, "less_than_equal": {"le"},
           "greater_than": {"gt"}, "less_than": {"lt"}, "literal_error": {"expected"}, "enum": {"expected"},
           "unknown_grid": {"name"}, "unknown_household": {"name"}, "duplicate_in_list": {"other"}}
    for code, message in validation.MESSAGES.items():
        fields = {name for _lit, name, _spec, _conv in string.Formatter().parse(message) if name}
        assert fields <= ctx.get(code, set()), code
