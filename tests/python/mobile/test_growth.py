"""Growth against the WHO Child Growth Standards and the Japanese 2000 growth
reference, computed on the phone and played through the generated Python
bindings against a real phr-server: a baby born at 32 weeks is scored at her
corrected age (the gestational age from her mother's delivery record); a baby
dropping across two percentile lines is flagged; a one-year-old's weight is
scored against both references, and charted against the Japanese one."""

from __future__ import annotations

import datetime
import uuid

import bodies
import pytest
from test_family_scenarios import MOTHER, registered_mother

core = bodies.core
JST = datetime.timezone(datetime.timedelta(hours=9))


def delivery(day: str, weeks: int):
    return core.RecordBody.DELIVERY(
        core.Delivery(
            delivered_at=datetime.datetime.combine(bodies.as_date(day), datetime.time(10, 0), tzinfo=JST),
            gestational_age=core.GestationalAge(weeks=weeks, days=0),
            method=core.DeliveryMethod.VAGINAL,
            number_of_babies=1,
        )
    )


def who(point):
    """The point's scores against the WHO standards."""
    return [s for s in point.scores if s.reference == core.GrowthReference.WHO2006]


def weight(point, reference=core.GrowthReference.WHO2006):
    return next(
        s for s in point.scores if s.reference == reference and s.indicator == core.GrowthMeasure.WEIGHT_FOR_AGE
    )


def test_a_baby_born_at_32_weeks_is_scored_at_her_corrected_age(phr, server, phone):
    mother, _ = registered_mother(server, phone)
    child = f"child:{uuid.uuid4()}"
    mother.client.add_record(MOTHER, delivery("2026-06-01", 32))
    mother.client.add_record(child, bodies.newborn("2026-06-01", sex="female"))
    # 90 days old, 34 days corrected: 4.2 kg is near the median for 34 days, well below it for 90.
    mother.client.add_record(child, bodies.checkup("2026-08-30", 4.2, 53.0))
    birth, month3 = mother.client.growth_series(child)
    assert birth.corrected_age_days == -56 and month3.corrected_age_days == 34
    assert (month3.age_days, month3.age_months) == (90, 2)
    assert abs(weight(month3).z) < 0.3, weight(month3)
    assert 35 < weight(month3).percentile < 65
    chart = mother.client.growth_chart_svg(child, core.GrowthMeasure.WEIGHT_FOR_AGE, "ja")
    assert chart.startswith("<svg") and 'role="img"' in chart
    assert "修正月齢" in chart and chart.count("<circle") == 2
    english = mother.client.growth_chart_svg(child, core.GrowthMeasure.LENGTH_HEIGHT_FOR_AGE, "en")
    assert "Length/height-for-age (girls)" in english and "corrected age" in english
    assert set(phr.message_languages()) >= {"ja", "en"}
    assert "Weight-for-age" in mother.client.growth_chart_svg(child, core.GrowthMeasure.WEIGHT_FOR_AGE, "xx")
    assert {s.indicator for s in who(month3)} == {
        core.GrowthMeasure.WEIGHT_FOR_AGE,
        core.GrowthMeasure.LENGTH_HEIGHT_FOR_AGE,
        core.GrowthMeasure.BMI_FOR_AGE,
        core.GrowthMeasure.WEIGHT_FOR_LENGTH_HEIGHT,
    }
    by_length = mother.client.growth_chart_svg(child, core.GrowthMeasure.WEIGHT_FOR_LENGTH_HEIGHT, "en")
    assert "Weight-for-length (girls)" in by_length and "45–110 cm" in by_length


def test_a_term_baby_dropping_across_two_percentile_lines_is_flagged(phr, server, phone):
    mother, _ = registered_mother(server, phone)
    child = f"child:{uuid.uuid4()}"
    mother.client.add_record(MOTHER, delivery("2026-03-01", 39))
    mother.client.add_record(child, bodies.newborn("2026-03-01", sex="male"))
    mother.client.add_record(child, bodies.checkup("2026-04-01", 4.6, 54.5))  # about the 55th percentile
    mother.client.add_record(child, bodies.checkup("2026-07-01", 5.9, 61.0))  # about the 5th
    series = mother.client.growth_series(child)
    assert [p.corrected_age_days for p in series] == [None, None, None]
    first, second = series[1], series[2]
    assert 40 < weight(first).percentile < 70, weight(first)
    assert weight(second).percentile < 10, weight(second)
    down = core.GrowthFlag(
        reference=core.GrowthReference.WHO2006,
        indicator=core.GrowthMeasure.WEIGHT_FOR_AGE,
        kind=core.GrowthFlagKind.CROSSED_TWO_LINES_DOWNWARD,
    )
    assert down in second.flags, second.flags
    assert down not in first.flags


def test_the_phones_z_scores_agree_with_rcpchgrowth_an_independent_who_implementation(phr, server, phone):
    from rcpchgrowth import sds_for_measurement

    methods = {
        core.GrowthMeasure.WEIGHT_FOR_AGE: "weight",
        core.GrowthMeasure.LENGTH_HEIGHT_FOR_AGE: "height",
        core.GrowthMeasure.HEAD_CIRCUMFERENCE_FOR_AGE: "ofc",
        core.GrowthMeasure.BMI_FOR_AGE: "bmi",
    }
    mother, _ = registered_mother(server, phone)
    checked = 0
    for sex, points in (
        ("female", [("2026-01-20", 4.1, 54.0), ("2026-05-01", 6.9, 63.5), ("2026-11-01", 8.8, 72.0)]),
        ("male", [("2026-01-20", 2.4, 47.0), ("2026-05-01", 9.9, 70.0), ("2026-11-01", 11.9, 80.5)]),
    ):
        child = f"child:{uuid.uuid4()}"
        mother.client.add_record(child, bodies.newborn("2026-01-01", sex=sex))
        for day, kg, cm in points:
            mother.client.add_record(child, bodies.checkup(day, kg, cm))
        for point in mother.client.growth_series(child):
            for score in who(point):
                if score.indicator == core.GrowthMeasure.WEIGHT_FOR_LENGTH_HEIGHT:
                    continue  # rcpchgrowth has no weight-for-length; phr-core's tests check it against WHO's tables
                theirs = sds_for_measurement(
                    reference="who",
                    age=point.age_days / 365.25,
                    measurement_method=methods[score.indicator],
                    observation_value={
                        core.GrowthMeasure.WEIGHT_FOR_AGE: point.weight_kg,
                        core.GrowthMeasure.LENGTH_HEIGHT_FOR_AGE: point.length_cm,
                        core.GrowthMeasure.HEAD_CIRCUMFERENCE_FOR_AGE: point.head_circumference_cm,
                        core.GrowthMeasure.BMI_FOR_AGE: point.weight_kg / (point.length_cm / 100) ** 2
                        if point.weight_kg and point.length_cm else None,
                    }[score.indicator],
                    sex=sex,
                )
                assert abs(score.z - theirs) < 0.01, (sex, point.date, score.indicator, score.z, theirs)
                checked += 1
    assert checked >= 20, checked


def test_a_one_year_olds_weight_is_scored_against_the_japanese_2000_reference_too(phr, server, phone):
    mother, _ = registered_mother(server, phone)
    child = f"child:{uuid.uuid4()}"
    mother.client.add_record(child, bodies.newborn("2025-01-01", sex="male"))
    # 365 days: the Japanese 2000 medians for boys at 1 year are 9.38 kg and 74.8 cm
    # (Isojima 2016, tables 3 and 2).
    mother.client.add_record(child, bodies.checkup("2026-01-01", 9.38, 74.8))
    _, year1 = mother.client.growth_series(child)
    assert year1.age_days == 365
    japanese = weight(year1, core.GrowthReference.JAPAN2000)
    assert abs(japanese.z) < 0.05 and 48 < japanese.percentile < 52, japanese
    assert weight(year1).reference == core.GrowthReference.WHO2006
    assert {(s.reference, s.indicator) for s in year1.scores if s.reference == core.GrowthReference.JAPAN2000} == {
        (core.GrowthReference.JAPAN2000, core.GrowthMeasure.WEIGHT_FOR_AGE),
        (core.GrowthReference.JAPAN2000, core.GrowthMeasure.LENGTH_HEIGHT_FOR_AGE),
    }
    chart = mother.client.growth_chart_svg_with_reference(
        child, core.GrowthMeasure.WEIGHT_FOR_AGE, core.GrowthReference.JAPAN2000, "ja"
    )
    assert "日本人小児の体格基準（2000年）" in chart and chart.count("<circle") == 2
    assert "WHO" in mother.client.growth_chart_svg_with_reference(
        child, core.GrowthMeasure.WEIGHT_FOR_AGE, core.GrowthReference.WHO2006, "ja"
    )
    with pytest.raises(phr.PhrError.Validation) as no_table:
        mother.client.growth_chart_svg_with_reference(
            child, core.GrowthMeasure.HEAD_CIRCUMFERENCE_FOR_AGE, core.GrowthReference.JAPAN2000, "en"
        )
    assert no_table.value.field == "measure"


def test_the_due_list_drops_a_checkup_when_its_record_syncs_from_another_phone_and_speaks_both_languages(
    phr, server, phone
):
    mother, _ = registered_mother(server, phone)
    child = f"child:{uuid.uuid4()}"
    mother.client.add_record(child, bodies.newborn("2026-08-20", sex="female"))
    mother.client.sync(None)
    today = datetime.date(2026, 12, 5)

    due = mother.client.due_items(child, today, 30, "ja", None)
    keys = [i.key for i in due]
    assert "child_checkup:months_3_4" in keys, keys
    checkup = next(i for i in due if i.key == "child_checkup:months_3_4")
    assert (checkup.kind, checkup.title) == (core.DueKind.CHILD_CHECKUP, "3〜4か月児健診")
    assert (checkup._from, checkup.to) == (datetime.date(2026, 11, 20), datetime.date(2027, 1, 19))
    english = mother.client.due_items(child, today, 30, "en", None)
    assert next(i for i in english if i.key == "child_checkup:months_3_4").title == "3–4-month checkup"
    assert any(i.kind == core.DueKind.IMMUNIZATION for i in due)

    # The checkup is recorded on the partner's phone (as the health center's record would arrive) and syncs.
    partner = phone("partner")
    partner.client.join_account(mother.client.create_pairing_invite(), "Partner's phone")
    partner.client.sync(None)
    done = core.ChildCheckup(date=datetime.date(2026, 12, 1), checkup_type=core.CheckupType.MONTHS3_TO4)
    partner.client.add_record(child, core.RecordBody.CHILD_CHECKUP(done))
    partner.client.sync(None)
    mother.client.sync(None)
    after = [i.key for i in mother.client.due_items(child, today, 30, "ja", None)]
    assert "child_checkup:months_3_4" not in after, after

    # A municipality's own schedule, and bad arguments.
    own = "checkup_type,from_months,to_months\nmonths_3_4,3,4\nmonths_6_7,3,8\n"
    assert [i.key for i in mother.client.due_items(child, today, 30, "en", own) if i.kind == core.DueKind.CHILD_CHECKUP] == [
        "child_checkup:months_6_7"
    ]
    with pytest.raises(phr.PhrError.Validation) as bad:
        mother.client.due_items(child, today, 30, "en", "h\nnot_a_checkup,1,2\n")
    assert bad.value.field == "infant_checkup_schedule_csv"
    with pytest.raises(phr.PhrError.Validation):
        mother.client.due_items(child, today, 99_999, "en", None)
