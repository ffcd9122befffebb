"""Typed dataset records for the scenarios, built from the generated
`phr_core` types exactly as an app builds them: a `RecordBody` variant
wrapping one module's record, quantities as unit records (`Kilograms`),
dates as `datetime.date`, codes as enums. No JSON."""

from __future__ import annotations

import datetime
from typing import Optional, Union

import harness

core = harness.load_core()

DateLike = Union[str, datetime.date]
JST = datetime.timezone(datetime.timedelta(hours=9))


def as_date(value: DateLike) -> datetime.date:
    return datetime.date.fromisoformat(value) if isinstance(value, str) else value


def visit(
    date: DateLike,
    clinic: Optional[str] = "Sakura",
    note: Optional[str] = None,
    weight: Optional[float] = None,
    systolic: Optional[float] = None,
):
    """A prenatal visit; a blood pressure of `systolic`/70 when given."""
    pressure = None
    if systolic is not None:
        pressure = core.BloodPressure(
            systolic=core.MillimetresOfMercury(value=systolic), diastolic=core.MillimetresOfMercury(value=70.0)
        )
    return core.RecordBody.PRENATAL_VISIT(
        core.PrenatalVisit(
            visit_date=as_date(date),
            clinic_name=clinic,
            body_weight=core.Kilograms(value=weight) if weight is not None else None,
            blood_pressure=pressure,
            note=note,
        )
    )


def vitals(date: DateLike, weight: float = 55.0, time: datetime.time = datetime.time(7, 30)):
    """Self-measured vitals at `time` (JST) on `date`."""
    moment = datetime.datetime.combine(as_date(date), time, tzinfo=JST)
    return core.RecordBody.SELF_VITALS(core.SelfVitals(measured_at=moment, weight=core.Kilograms(value=weight)))


def profile(identifiers: int = 0):
    """The mother's profile with `identifiers` identifiers of 200 characters each."""
    ids = [core.Identifier(system=f"urn:oid:1.2.392.{i}", value="9" * 200) for i in range(identifiers)]
    return core.RecordBody.MOTHER_PROFILE(
        core.MotherProfile(name_kanji="山田 花子", birth_date=datetime.date(1994, 7, 15), identifiers=ids)
    )


def newborn(birth_date: DateLike, sex: str = "female"):
    return core.RecordBody.NEWBORN(
        core.Newborn(
            sex=core.Sex[sex.upper()],
            birth_date=as_date(birth_date),
            birth_weight=core.Grams(value=3050.0),
            birth_length=core.Centimetres(value=49.5),
            head_circumference=core.Centimetres(value=33.0),
        )
    )


def checkup(date: DateLike, kg: float, cm: float):
    """The one-month checkup with weight and (recumbent) length."""
    return core.RecordBody.CHILD_CHECKUP(
        core.ChildCheckup(
            date=as_date(date),
            checkup_type=core.CheckupType.MONTH1,
            weight=core.Kilograms(value=kg),
            length=core.Centimetres(value=cm),
            length_position=core.MeasurementPosition.RECUMBENT,
        )
    )


def dose(vaccine: str, series: str, number: int, given: DateLike):
    """A routine dose: `vaccine` and `series` by their codes (`dpt_ipv_hib`, `first_term`)."""
    return core.RecordBody.IMMUNIZATION(
        core.Immunization(
            vaccine=core.Vaccine[vaccine.upper()],
            routine=True,
            date_given=as_date(given),
            dose_number=number,
            series=core.DoseSeries[series.upper()],
        )
    )


def content(body):
    """The module record a `RecordBody` wraps (`body[0]`: each variant holds one)."""
    return body[0]


def note_of(entry_or_body) -> Optional[str]:
    """The note of a prenatal visit, from a timeline entry, a history version or a body."""
    body = getattr(entry_or_body, "body", entry_or_body)
    return content(body).note if body is not None and body.is_prenatal_visit() else None


def identifiers(*pairs: tuple):
    """A subject's identifiers record from (system, value) pairs, e.g. the
    handbook number `("urn:oid:1.2.392.100495.20.3.81", "2026-0001234")`."""
    return core.RecordBody.SUBJECT_IDENTIFIERS(
        core.SubjectIdentifiers(identifiers=[core.Identifier(system=s, value=v) for s, v in pairs])
    )
