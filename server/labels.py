"""Words for the codes the rules and the database use, in plain language, translated at render time.

Each function takes the page's translator ``_`` so the strings stay literal ``_()`` calls that the
message extractor finds."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Any

from server import i18n

T = Callable[..., str]

# Status and flag badges: a CSS tone (colour) always travels with a word and an icon-like prefix,
# so colour is never the only cue.
TONES = {
    "abnormal": "danger", "missed": "warning", "due": "info", "ok": "ok",
    "high_fever": "danger", "fever": "danger", "symptoms": "danger", "missed_reading": "warning",
    "ready_for_release": "ok", "no_video_today": "warning", "video_unclear": "warning",
    "released": "neutral", "callback_request": "warning", "callback_requested": "warning", "missed_twice": "warning",
}


def tone(code: str) -> str:
    return TONES.get(code, "neutral")


def status(_: T, code: str) -> str:
    return {
        "abnormal": _("Abnormal"),
        "missed": _("Missed a reading"),
        "due": _("Reading due"),
        "ok": _("All fine"),
        "released": _("Released"),
        "closed": _("Closed"),
    }.get(code, code)


def flag(_: T, code: str) -> str:
    return {
        "high_fever": _("High fever"),
        "fever": _("Fever"),
        "symptoms": _("Symptoms"),
        "callback_requested": _("Asked to be called back"),
        "missed_reading": _("Missed reading"),
        "due": _("Reading due"),
        "ready_for_release": _("Ready for release"),
        "no_video_today": _("No video today"),
        "video_unclear": _("Video unclear"),
        "test_positive": _("Test positive"),
        "test_pending": _("Test result awaited"),
        "referred": _("Referred to fever clinic"),
        "suspected": _("Suspected case"),
    }.get(code, code)


def action_kind(_: T, code: str) -> str:
    return {
        "referred_fever_clinic": _("Referred to the fever clinic"),
        "sample_taken": _("Sample taken"),
        "moved_to_centralized": _("Moved to centralised observation"),
        "moved_home": _("Moved to home observation"),
        "hospitalized": _("Hospitalised"),
        "suspected_case": _("Suspected case"),
        "confirmed_case": _("Confirmed case"),
        "ruled_out": _("Ruled out"),
        "other": _("Other"),
    }.get(code, code)


def outcome(_: T, code: str | None) -> str:
    if code is None:
        return "—"
    return {"hospitalized": _("Hospitalised"), "confirmed_case": _("Confirmed case")}.get(code, code)


def test_kind(_: T, code: str) -> str:
    return {"nucleic_acid": _("Nucleic-acid test"), "antigen": _("Antigen test")}.get(code, code)


def test_result(_: T, code: str) -> str:
    return {"pending": _("Result awaited"), "negative": _("Negative"), "positive": _("Positive")}.get(code, code)


def symptom(_: T, code: str) -> str:
    return {
        "chills": _("Chills or shivering"),
        "cough": _("Cough"),
        "sore_throat": _("Sore throat"),
        "shortness_of_breath": _("Short of breath"),
        "fatigue": _("Very tired"),
        "muscle_ache": _("Aching muscles"),
        "headache": _("Headache"),
        "diarrhea": _("Diarrhoea"),
        "nausea": _("Feeling sick or vomiting"),
        "runny_nose": _("Runny or blocked nose"),
        "loss_of_taste_or_smell": _("Cannot taste or smell"),
        "other": _("Something else (please describe in the note)"),
    }.get(code, code)


def method(_: T, code: str | None) -> str:
    if code is None:
        return "—"
    return {
        "forehead": _("Forehead"),
        "ear": _("Ear"),
        "oral": _("Mouth"),
        "armpit": _("Armpit"),
    }.get(code, code)


def window_state(_: T, code: str) -> str:
    return {
        "done": _("Done"),
        "open": _("Open now"),
        "missed": _("Missed"),
        "upcoming": _("Later today"),
        "before_start": _("Not started yet"),
    }.get(code, code)


def alert_kind(_: T, code: str) -> str:
    return {
        "high_fever": _("High fever"),
        "fever": _("Fever"),
        "symptoms": _("Symptoms"),
        "callback_request": _("Asked to be called back"),
        "missed_twice": _("Missed two readings in a row"),
        "test_positive": _("Positive test"),
    }.get(code, code)


def checkin_status(_: T, code: str) -> str:
    return {
        "connecting": _("Connecting"),
        "live": _("In progress"),
        "completed": _("Completed"),
        "failed": _("Did not go through"),
        "abandoned": _("Broken off"),
    }.get(code, code)


def classification(_: T, code: str) -> str:
    return {"normal": _("Normal"), "fever": _("Fever"), "high_fever": _("High fever")}.get(code, code)


def brief_metric(_: T, code: str) -> str:
    return {
        "home": _("At home"),
        "centralized": _("At a site"),
        "new": _("New"),
        "released": _("Released"),
        "closed": _("Closed (hospital or case)"),
        "fever": _("Fever"),
        "symptoms": _("Symptoms"),
        "missed": _("Missed the last window"),
        "referrals": _("Referred"),
        "tests_sampled": _("Tests sampled"),
        "tests_pending": _("Tests pending"),
        "households_visited": _("Households visited"),
        "people_counted": _("People counted"),
        "declarations": _("Declarations"),
        "tests_positive": _("Positive"),
        "video_checkins": _("Seen on video"),
    }.get(code, code)


def census_import_status(_: T, code: str) -> str:
    return {
        "queued": _("Waiting to start"),
        "checking": _("Checking the lines"),
        "writing": _("Enrolling"),
        "done": _("Everyone enrolled"),
        "rejected": _("Nobody enrolled: lines need fixing"),
        "checked": _("Checked"),
        "failed": _("Failed"),
        "interrupted": _("Interrupted: the server stopped during the import"),
    }.get(code, code)


def observation_type(_: T, code: str) -> str:
    return {"home": _("At home"), "centralized": _("Centralised site")}.get(code, code)


def role(_: T, code: str) -> str:
    return {"admin": _("Administrator"), "clinician": _("Clinician"), "grid_worker": _("Grid worker"),
            "observer": _("Observer (command centre)")}.get(code, code)


def area_kind(_: T, code: str) -> str:
    return {"district": _("District"), "town": _("Town"), "street": _("Street"), "community": _("Community"),
            "village": _("Village"), "grid": _("Grid")}.get(code, code)


def attempt(_: T, kind: str, outcome: str) -> str:
    """A visit or call that found nobody, as the round and the record say it."""
    if kind == "visit":
        return _("Visited: not at home") if outcome == "not_home" else _("Visited: nobody answered the door")
    return _("Called: no answer") if outcome == "no_answer" else _("Called: not at home")


def source(_: T, code: str) -> str:
    return {"self": _("Self-reported"), "clinician": _("Entered by staff"),
            "video": _("Video check-in"), "household": _("Reported by the household"),
            "sms": _("By SMS"), "visit": _("Taken on a visit"), "phone": _("Read out by phone")}.get(code, code)


def release_reason(_: T, code: str, params: Mapping[str, Any], fallback: str,
                   last_day: Callable[[date], str] | None = None) -> str:
    """``last_day`` formats the last day of observation (the rules give the first day after it)."""
    try:
        if code == "period_not_over":
            end = date.fromisoformat(str(params["planned_end_date"]))
            shown = last_day(end - timedelta(days=1)) if last_day else (end - timedelta(days=1)).isoformat()
            return _("The observation period ends on {date}.", date=shown)
        if code == "recent_fever":
            return _("There was a fever in the last {hours} hours.", hours=int(float(params.get("hours", 72))))
        if code == "open_alerts":
            return _("Alerts still open: {count}.", count=params.get("count", "?"))
        if code == "no_recent_reading":
            return _("No temperature reading in the last {hours} hours.", hours=int(float(params.get("hours", 24))))
        if code == "no_recent_checkin":
            return _("No completed video check-in in the last {hours} hours.",
                     hours=int(float(params.get("hours", 24))))
        if code == "already_released":
            return _("This person has already been released.")
        if code == "test_positive":
            return _("A test since enrolment was positive.")
        if code == "tests_missing":
            return _("{needed} negative nucleic-acid tests a day apart are needed; there are {have}.",
                     needed=params["needed"], have=params["have"])
        if code == "test_too_old":
            return _("The latest negative test was sampled more than {hours} hours ago.",
                     hours=int(float(params.get("hours", 72))))
    except (KeyError, TypeError, ValueError):
        pass
    return fallback


def rejection(locale: str, code: str | None, params: Mapping[str, Any] | None, fallback: str) -> str:
    if code is None:
        return fallback
    return i18n.rejection_message(locale, code, params, fallback)


def audit_action(_: T, code: str) -> str:
    return {
        "staff.login": _("Signed in"),
        "staff.login_failed": _("Failed sign-in"),
        "staff.login_throttled": _("Sign-in held back after failures"),
        "staff.logout": _("Signed out"),
        "subject.signed_in": _("Person opened their link"),
        "subject.logout": _("Person signed out"),
        "subject.link_refused": _("Unknown personal link tried"),
        "subject.link_throttled": _("Personal links held back after failures"),
        "subject.link_closed": _("Closed personal link opened"),
        "user.created": _("Created a staff account"),
        "user.updated": _("Changed a staff account"),
        "grid.created": _("Created a grid"),
        "area.created": _("Created an area"),
        "area.moved": _("Moved an area in the tree"),
        "subject.contact_attempted": _("Found nobody on a visit or call"),
        "push.subscribed": _("Reminders turned on in a browser"),
        "push.unsubscribed": _("Reminders turned off in a browser"),
        "outbox.retried": _("Failed notification sent again"),
        "call.hosted": _("Opened a video call"),
        "subject.enrolled": _("Enrolled a person"),
        "subjects.census_imported": _("Enrolled a census list"),
        "subject.viewed": _("Opened a record"),
        "subject.readings_viewed": _("Looked at readings"),
        "subject.note_updated": _("Changed the clinician note"),
        "subject.access_code_reissued": _("Issued a new personal link"),
        "subject.released": _("Released a person"),
        "subject.corrected": _("Corrected a record"),
        "subject.extended": _("Extended an observation"),
        "subject.readmitted": _("Put a person back under observation"),
        "subject.transferred": _("Moved a person to another grid"),
        "subjects.erased": _("Erased personal data after the retention period"),
        "case.action_recorded": _("Recorded a public-health action"),
        "case.test_recorded": _("Recorded a test"),
        "case.test_updated": _("Recorded a test result"),
        "certificate.viewed": _("Opened a release certificate"),
        "site.created": _("Created a site"),
        "household.created": _("Created a household"),
        "household.access_code_reissued": _("Issued a new household link"),
        "household.signed_in": _("Household opened its link"),
        "household.link_refused": _("Unknown household link tried"),
        "household.link_throttled": _("Household links held back after failures"),
        "household.logout": _("Household signed out"),
        "declaration.created": _("Declaration received"),
        "declaration.enrolled": _("Enrolled a declared person"),
        "declaration.dismissed": _("Dismissed a declaration"),
        "census.tallied": _("Recorded census progress"),
        "reading.created": _("Reading stored"),
        "alert.opened": _("Alert opened"),
        "alert.acknowledged": _("Alert acknowledged"),
        "checkin.started": _("Started a video check-in"),
        "checkin.list_viewed": _("Looked at video check-ins"),
        "checkin.viewed": _("Opened a video check-in"),
        "checkin.snapshot_viewed": _("Looked at a check-in picture"),
        "checkin.watched": _("Watched a check-in live"),
        "fhir.patient_read": _("Read the record through FHIR"),
        "fhir.patients_searched": _("Searched people through FHIR"),
        "fhir.observation_read": _("Read a reading through FHIR"),
        "fhir.observations_searched": _("Read readings through FHIR"),
        "fhir.exported": _("Exported a grid through FHIR"),
        "call.requested": _("Rang a person for a video call"),
        "export.roster": _("Exported the roster"),
        "subjects.census_import_started": _("Uploaded a long census list"),
        "subjects.census_cards_printed": _("Printed enrolment cards of a census list"),
        "export.readings": _("Exported readings"),
        "export.releases": _("Exported the release register"),
    }.get(code, code)


def field(_: T, name: str) -> str:
    """A form or API field as people know it (the label of its input); unknown fields keep their name."""
    return {
        "full_name": _("Full name"),
        "phone": _("Mobile phone"),
        "grid": _("Grid"),
        "grid_id": _("Grid"),
        "grid_ids": _("Grids"),
        "area_ids": _("Areas"),
        "area_id": _("Area"),
        "parent_id": _("Lies in"),
        "kind": _("Kind of area"),
        "outcome": _("Outcome"),
        "observation_type": _("Where"),
        "reason": _("Reason for observation"),
        "start_date": _("First day"),
        "duration_days": _("Days"),
        "last_exposure_date": _("Last exposure"),
        "days": _("Days"),
        "address": _("Address"),
        "id_number": _("ID number"),
        "date_of_birth": _("Date of birth"),
        "language": _("Language"),
        "household_id": _("Household"),
        "username": _("Username"),
        "password": _("Password"),
        "role": _("Role"),
        "temperature_c": _("Temperature"),
        "taken_at": _("Time"),
        "method": _("Measured at"),
        "symptoms": _("Symptoms"),
        "note": _("Note"),
        "clinician_note": _("Clinician note"),
    }.get(name, name)


def audit_detail(_: T, key: str, value: Any) -> tuple[str, str]:
    """One detail of an audit entry as (label, value) for the audit log; ids and free text stay as
    recorded, codes get their words."""
    label = {
        "user_id": _("Staff account"), "grid_id": _("Grid"), "reading_id": _("Reading"), "alert_id": _("Alert"),
        "checkin_id": _("Video check-in"), "call_id": _("Call"), "kind": _("Kind"), "source": _("Source"),
        "count": _("People"), "override": _("Released against the rules"), "unmet": _("Rules not met"),
        "is_active": _("Active"), "name": _("Name"), "version": _("Link number"),
        "changes": _("Changes"), "old_end": _("Planned end before"), "new_end": _("Planned end after"),
        "duplicate_of": _("Same person as"), "duplicate_because": _("Same because of"),
        "from_grid": _("From grid"), "to_grid": _("To grid"), "result": _("Result"), "previous": _("Before"),
        "test_id": _("Test"), "site_id": _("Site"), "certificates_revoked": _("Certificates revoked"),
        "subject_ids": _("People"), "reason": _("Reason"),
    }.get(key) or field(_, key)
    words: Callable[[str], str] | None = {
        "role": lambda code: role(_, code), "source": lambda code: source(_, code),
        "kind": lambda code: alert_kind(_, code), "unmet": lambda code: release_rule(_, code),
    }.get(key)
    if key == "changes" and isinstance(value, dict):
        # {"phone": [old, new], ...}: a correction, ID numbers already masked when it was recorded.
        shown = "; ".join(f"{field(_, name)}: {'—' if pair[0] is None else pair[0]} → "
                          f"{'—' if pair[1] is None else pair[1]}"
                          for name, pair in value.items() if isinstance(pair, list) and len(pair) == 2)
    elif key == "duplicate_because" and isinstance(value, str):
        shown = {"id_number": _("ID number"), "name_and_phone": _("name and phone number")}.get(value, value)
    elif isinstance(value, bool):
        shown = _("yes") if value else _("no")
    elif isinstance(value, list):
        shown = ", ".join(words(str(v)) if words else str(v) for v in value)
    elif words is not None and isinstance(value, str):
        shown = words(value)
    elif key == "temperature_c" and isinstance(value, int | float):
        shown = f"{value:.1f} °C"
    else:
        shown = "—" if value is None else str(value)
    return label, shown


def release_rule(_: T, code: str) -> str:
    """A release rule by name, without the figures :func:`release_reason` fills in."""
    return {
        "period_not_over": _("Observation period not over"),
        "recent_fever": _("Recent fever"),
        "open_alerts": _("Open alerts"),
        "no_recent_reading": _("No recent reading"),
        "no_recent_checkin": _("No recent video check-in"),
        "already_released": _("Already released"),
        "test_positive": _("Positive test"),
        "tests_missing": _("Negative tests missing"),
        "test_too_old": _("Latest negative test too old"),
    }.get(code, code)
