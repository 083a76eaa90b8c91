"""Video pages: a person's check-in (and joining a call), clinicians watching or calling, and the
check-ins panel of the subject detail page."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from markupsafe import Markup

from server.checkins import service
from server.checkins.lifecycle import media
from server.errors import Forbidden, NotFound
from server.models import ACTIVE, Subject
from server.pages.rendering import Page, StaffPage, SubjectPage, env, parse_uuid
from server.subjects.service import get_in_scope
from webrtc import browser_ice_servers

router = APIRouter(include_in_schema=False)

# The video pages' own words, kept beside them until they join the shared catalogue.
TEXT: dict[str, dict[str, str]] = {
    "zh_Hans": {
        "Video check-in": "视频打卡",
        "Start video check-in": "开始视频打卡",
        "Show your face": "请正对镜头",
        "Keep your face in the frame, in good light.": "请保持脸部在画面中，光线充足。",
        "Hold the thermometer to the camera": "把体温计对准镜头",
        "Hold it still until the countdown ends.": "请保持不动，直到倒计时结束。",
        "Connecting…": "正在连接…",
        "Check-in received at {time}": "已收到视频打卡（{time}）",
        "The check-in did not go through. Please try again.": "打卡没有成功，请重试。",
        "Please allow the camera to do a video check-in.": "请允许使用摄像头以进行视频打卡。",
        "The clinic is calling": "医生正在呼叫您",
        "Join the call": "接听",
        "End": "结束",
        "In a call with your clinic": "正在与医生通话",
        "The call has ended.": "通话已结束。",
        "Back to my page": "返回我的页面",
        "Twice a day: show your face and your thermometer to the camera for about a minute.":
            "每天两次：对着镜头出示面部和体温计，约一分钟。",
        "Check-ins": "视频打卡记录",
        "No video check-ins yet.": "还没有视频打卡。",
        "Watch live": "实时观看",
        "Call": "呼叫",
        "face seen": "看到面部",
        "no face seen": "未看到面部",
        "Status": "状态",
        "Started": "开始",
        "Duration": "时长",
        "Snapshots": "截图",
        "live": "进行中",
        "connecting": "连接中",
        "completed": "已完成",
        "failed": "失败",
        "abandoned": "中断",
        "Calling {name}": "正在呼叫 {name}",
        "Watching {name}": "正在观看 {name}",
        "Waiting for {name} to join…": "等待 {name} 接听…",
        "Connected": "已连接",
        "Hang up": "挂断",
        "Allow the microphone so that you can talk.": "请允许使用麦克风以便通话。",
    },
    "zh_Hant": {
        "Video check-in": "視訊打卡",
        "Start video check-in": "開始視訊打卡",
        "Show your face": "請正對鏡頭",
        "Keep your face in the frame, in good light.": "請保持臉部在畫面中，光線充足。",
        "Hold the thermometer to the camera": "把體溫計對準鏡頭",
        "Hold it still until the countdown ends.": "請保持不動，直到倒數結束。",
        "Connecting…": "正在連線…",
        "Check-in received at {time}": "已收到視訊打卡（{time}）",
        "The check-in did not go through. Please try again.": "打卡沒有成功，請重試。",
        "Please allow the camera to do a video check-in.": "請允許使用攝影機以進行視訊打卡。",
        "The clinic is calling": "醫生正在呼叫您",
        "Join the call": "接聽",
        "End": "結束",
        "In a call with your clinic": "正在與醫生通話",
        "The call has ended.": "通話已結束。",
        "Back to my page": "返回我的頁面",
        "Twice a day: show your face and your thermometer to the camera for about a minute.":
            "每天兩次：對著鏡頭出示臉部和體溫計，約一分鐘。",
        "Check-ins": "視訊打卡紀錄",
        "No video check-ins yet.": "還沒有視訊打卡。",
        "Watch live": "即時觀看",
        "Call": "呼叫",
        "face seen": "看到臉部",
        "no face seen": "未看到臉部",
        "Status": "狀態",
        "Started": "開始",
        "Duration": "時長",
        "Snapshots": "截圖",
        "live": "進行中",
        "connecting": "連線中",
        "completed": "已完成",
        "failed": "失敗",
        "abandoned": "中斷",
        "Calling {name}": "正在呼叫 {name}",
        "Watching {name}": "正在觀看 {name}",
        "Waiting for {name} to join…": "等待 {name} 接聽…",
        "Connected": "已連線",
        "Hang up": "掛斷",
        "Allow the microphone so that you can talk.": "請允許使用麥克風以便通話。",
    },
}

# How long each step of the guided script lasts; together longer than the minimum of a check-in.
SCRIPT_SECONDS = (8, 8)


class VideoText:
    """The page translator, with the video pages' own words first."""

    def __init__(self, page: Page) -> None:
        self._page = page
        self._own = TEXT.get(page.locale, {})

    def __call__(self, message: str, **params: Any) -> str:
        own = self._own.get(message)
        if own is None:
            return self._page._(message, **params)
        return own.format(**params) if params else own


def video_text(locale: str, message: str) -> str:
    """For templates outside this module that link to the video pages."""
    return TEXT.get(locale, {}).get(message, message)


env.globals["video_text"] = video_text


def _json(value: object) -> Markup:
    # Safe inside a <script type="application/json">: "<" can never close the element.
    return Markup(json.dumps(value, ensure_ascii=False).replace("<", "\\u003c"))


def _ice(page: Page) -> list[dict[str, object]]:
    return browser_ice_servers(media(page.ctx).config)


@router.get("/me/checkin")
async def checkin_page(page: SubjectPage) -> Response:
    subject = page.subject
    assert subject is not None
    t = VideoText(page)
    strings = {key: t(key) for key in (
        "Show your face", "Keep your face in the frame, in good light.", "Hold the thermometer to the camera",
        "Hold it still until the countdown ends.", "Connecting…", "Check-in received at {time}",
        "The check-in did not go through. Please try again.", "Please allow the camera to do a video check-in.",
        "The clinic is calling", "Join the call", "In a call with your clinic", "The call has ended.",
    )}
    config = {
        "iceServers": _ice(page),
        "strings": strings,
        "script": list(SCRIPT_SECONDS),
        "active": subject.state == ACTIVE,
        "locale": page.locale.replace("_", "-"),
        "timeZone": page.ctx.settings.timezone,
    }
    return page.render("checkin.html", t=t, config=_json(config), active=subject.state == ACTIVE)


def _staff_subject_id(raw: str) -> uuid.UUID:
    subject_id = parse_uuid(raw)
    if subject_id is None:
        raise NotFound("No such person in your grids.")
    return subject_id


async def _video_page(page: Page, subject: Subject, *, mode: str, target: str) -> Response:
    t = VideoText(page)
    strings = {key: t(key, name=subject.full_name) for key in (
        "Calling {name}", "Watching {name}", "Waiting for {name} to join…", "Connected", "The call has ended.",
        "Allow the microphone so that you can talk.",
    )}
    config = {"iceServers": _ice(page), "mode": mode, "target": target, "strings": strings,
              "subjectUrl": f"/subjects/{subject.id}"}
    return page.render("watch.html", t=t, s=subject, mode=mode, config=_json(config))


@router.get("/subjects/{subject_id}/call")
async def call_page(subject_id: str, page: StaffPage) -> Response:
    staff = page.staff
    assert staff is not None
    if staff.role != "clinician":
        raise Forbidden("Only a clinician can do this.")
    subject = await get_in_scope(page.session, staff=staff, subject_id=_staff_subject_id(subject_id))
    return await _video_page(page, subject, mode="call", target=str(subject.id))


@router.get("/checkins/{checkin_id}/watch")
async def watch_page(checkin_id: str, page: StaffPage) -> Response:
    staff = page.staff
    assert staff is not None
    parsed = parse_uuid(checkin_id)
    if parsed is None:
        raise NotFound("No such check-in.")
    checkin = await service.get_for_staff(page.session, staff=staff, checkin_id=parsed)
    subject = await get_in_scope(page.session, staff=staff, subject_id=checkin.subject_id)
    return await _video_page(page, subject, mode="watch", target=str(checkin.id))


async def detail_context(page: Page, subject: Subject) -> dict[str, Any]:
    """What ``partials/checkins.html`` needs on the subject detail page."""
    checkins = await service.list_for_subject(page.session, subject_id=subject.id, limit=20)
    live = media(page.ctx).live_checkins()
    return {
        "checkins": [service.to_read(c) for c in checkins],
        "live_checkins": live,
        "vt": VideoText(page),
        "can_call": page.staff is not None and page.staff.role == "clinician" and subject.state == ACTIVE,
    }
