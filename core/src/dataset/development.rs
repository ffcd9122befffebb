//! `development` (many per child): parent-reported developmental milestones, as
//! the handbook asks them at each age band (保護者の記録), with whether and when
//! the child achieved them.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::common::{age_in_months, coded_enum, Problems, Validate, ValidationContext, ValidationErrors};
use super::{DatasetModule, RecordKind};

/// Longest free-text note accepted, in characters.
pub const MAX_NOTE_CHARS: usize = 500;

coded_enum! {
    vocabulary "milestone";
    /// The handbook's milestone questions (local codes, one per question).
    pub enum Milestone {
        /// Smiles when played with (あやすとよく笑う), 3–4 months.
        SocialSmile = "social_smile",
        /// Head control (首がすわる), 3–4 months.
        HeadControl = "head_control",
        /// Turns towards a voice from out of sight, 3–4 months.
        TurnsToVoice = "turns_to_voice",
        /// Rolls over (寝返り), 6–7 months.
        RollingOver = "rolling_over",
        /// Sits without support (ひとりすわり), 6–7 months.
        Sitting = "sitting",
        /// Reaches for and grasps a toy, 6–7 months.
        ReachesForToy = "reaches_for_toy",
        /// Crawls (はいはい), 9–10 months.
        Crawling = "crawling",
        /// Pulls to stand (つかまり立ち), 9–10 months.
        PullingToStand = "pulling_to_stand",
        /// Picks up small things between finger and thumb, 9–10 months.
        PincerGrasp = "pincer_grasp",
        /// Walks alone (ひとり歩き), by 1 year 6 months.
        Walking = "walking",
        /// Says a few meaningful words (ママ, ブーブー), by 1 year 6 months.
        FirstWords = "first_words",
        /// Drinks from a cup held by themself, by 1 year 6 months.
        DrinksFromCup = "drinks_from_cup",
        /// Runs, 2 years.
        Running = "running",
        /// Two-word sentences (ワンワンキタ), 2–3 years.
        TwoWordSentences = "two_word_sentences",
        /// Says their own name, 3 years.
        SaysOwnName = "says_own_name",
        /// Climbs stairs without using hands, 3 years.
        ClimbsStairs = "climbs_stairs",
        /// Draws a circle with a crayon, 3 years.
        DrawsCircle = "draws_circle",
    }
}

impl Milestone {
    /// The expected age band in completed months, inclusive: the handbook age
    /// band in which the question is asked (3–4 m, 6–7 m, 9–10 m; "1 y 6 m" as
    /// from 12 months to the 1 y 6 m checkup; 2 y as 24–35; 3 y as 36–47).
    /// Not achieved by the end of the band is worth raising at the checkup.
    pub const fn expected_age_months(self) -> (u32, u32) {
        match self {
            Milestone::SocialSmile | Milestone::HeadControl | Milestone::TurnsToVoice => (3, 4),
            Milestone::RollingOver | Milestone::Sitting | Milestone::ReachesForToy => (6, 7),
            Milestone::Crawling | Milestone::PullingToStand | Milestone::PincerGrasp => (9, 10),
            Milestone::Walking | Milestone::FirstWords | Milestone::DrinksFromCup => (12, 18),
            Milestone::Running => (24, 35),
            Milestone::TwoWordSentences => (24, 47),
            Milestone::SaysOwnName | Milestone::ClimbsStairs | Milestone::DrawsCircle => (36, 47),
        }
    }
}

coded_enum! {
    vocabulary "achieved";
    /// The parent's answer (local codes).
    pub enum Achieved {
        /// Achieved (はい).
        Yes = "yes",
        /// Not achieved (いいえ).
        No = "no",
        /// The parent is not sure.
        Unsure = "unsure",
    }
}

/// One answered milestone question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct DevelopmentMilestone {
    /// Which milestone.
    pub milestone: Milestone,
    /// The answer.
    pub achieved: Achieved,
    /// When the question was answered. Not in the future, not before birth.
    pub answered_on: NaiveDate,
    /// When the child achieved it, if known; only with `achieved: yes`. Not
    /// before birth, not in the future, not after `answered_on`.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub achieved_on: Option<NaiveDate>,
    /// Free-text note, at most 500 characters.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl DevelopmentMilestone {
    /// Completed months of age when achieved (`None` without a date or if before birth).
    pub fn achieved_age_months(&self, birth_date: NaiveDate) -> Option<u32> {
        age_in_months(birth_date, self.achieved_on?)
    }

    /// Completed months of age when answered (`None` if before birth).
    pub fn answered_age_months(&self, birth_date: NaiveDate) -> Option<u32> {
        age_in_months(birth_date, self.answered_on)
    }
}

impl Validate for DevelopmentMilestone {
    fn validate(&self, ctx: &ValidationContext<'_>) -> Result<(), ValidationErrors> {
        let mut p = Problems::new();
        p.not_future("answered_on", self.answered_on, ctx.today);
        if let Some(birth) = ctx.birth_date {
            if self.answered_on < birth {
                p.push("answered_on", format!("must not be before the birth date {birth}, got {}", self.answered_on));
            }
        }
        if let Some(on) = self.achieved_on {
            p.not_future("achieved_on", on, ctx.today);
            if let Some(birth) = ctx.birth_date {
                if on < birth {
                    p.push("achieved_on", format!("must not be before the birth date {birth}, got {on}"));
                }
            }
            if on > self.answered_on {
                p.push("achieved_on", format!("must not be after answered_on {}, got {on}", self.answered_on));
            }
            if self.achieved != Achieved::Yes {
                p.push("achieved_on", format!("only belongs to achieved \"yes\", not \"{}\"", self.achieved.code()));
            }
        }
        p.opt_text("note", &self.note, MAX_NOTE_CHARS);
        p.finish()
    }
}

impl DatasetModule for DevelopmentMilestone {
    const KIND: RecordKind = RecordKind::Development;
    fn effective_date(&self) -> Option<NaiveDate> {
        Some(self.answered_on)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn walking() -> DevelopmentMilestone {
        DevelopmentMilestone {
            milestone: Milestone::Walking,
            achieved: Achieved::Yes,
            answered_on: d("2026-12-15"),
            achieved_on: Some(d("2026-07-02")),
            note: None,
        }
    }

    fn ctx() -> ValidationContext<'static> {
        ValidationContext::new(d("2027-01-01")).with_birth_date(d("2025-06-10"))
    }

    #[test]
    fn an_achieved_milestone_is_valid_and_dated_by_its_answer() {
        let m = walking();
        assert_eq!(m.validate(&ctx()), Ok(()));
        assert_eq!(m.effective_date(), Some(d("2026-12-15")));
        assert_eq!(DevelopmentMilestone::KIND, RecordKind::Development);
    }

    #[test]
    fn achieved_age_is_in_completed_months() {
        // 2025-06-10 -> 2026-07-02: 12 completed months (13 only from 2026-07-10).
        assert_eq!(walking().achieved_age_months(d("2025-06-10")), Some(12));
        assert_eq!(walking().answered_age_months(d("2025-06-10")), Some(18));
    }

    #[test]
    fn expected_age_bands_follow_the_handbook() {
        assert_eq!(Milestone::HeadControl.expected_age_months(), (3, 4));
        assert_eq!(Milestone::Sitting.expected_age_months(), (6, 7));
        assert_eq!(Milestone::PullingToStand.expected_age_months(), (9, 10));
        assert_eq!(Milestone::Walking.expected_age_months(), (12, 18));
        for m in Milestone::ALL {
            let (from, to) = m.expected_age_months();
            assert!(from <= to, "{m:?}");
        }
    }

    #[test]
    fn achieved_date_before_birth_or_in_the_future_is_rejected() {
        let mut m = walking();
        m.achieved_on = Some(d("2025-06-09"));
        assert!(m.validate(&ctx()).unwrap_err().mentions("achieved_on"));
        let mut m = walking();
        m.answered_on = d("2027-01-01");
        m.achieved_on = Some(d("2027-01-02"));
        let errs = m.validate(&ctx()).unwrap_err();
        assert!(errs.issues().iter().any(|i| i.path == "achieved_on" && i.reason.contains("future")), "{errs}");
    }

    #[test]
    fn achieved_date_after_the_answer_is_rejected() {
        let mut m = walking();
        m.achieved_on = Some(d("2026-12-16"));
        assert!(m.validate(&ctx()).unwrap_err().mentions("achieved_on"));
    }

    #[test]
    fn achieved_date_with_a_no_or_unsure_answer_is_rejected() {
        for a in [Achieved::No, Achieved::Unsure] {
            let mut m = walking();
            m.achieved = a;
            assert!(m.validate(&ctx()).unwrap_err().mentions("achieved_on"), "{a:?}");
            m.achieved_on = None;
            assert_eq!(m.validate(&ctx()), Ok(()), "{a:?}");
        }
    }

    #[test]
    fn answer_before_birth_or_in_the_future_is_rejected() {
        let mut m = walking();
        m.achieved_on = None;
        m.answered_on = d("2025-06-01");
        assert!(m.validate(&ctx()).unwrap_err().mentions("answered_on"));
        m.answered_on = d("2027-01-02");
        assert!(m.validate(&ctx()).unwrap_err().mentions("answered_on"));
    }

    #[test]
    fn json_is_snake_case_round_trips_and_refuses_unknown_fields() {
        let m = walking();
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["milestone"], "walking");
        assert_eq!(json["achieved"], "yes");
        assert_eq!(serde_json::from_value::<DevelopmentMilestone>(json.clone()).unwrap(), m);
        let mut bad = json;
        bad["age_months"] = serde_json::json!(13);
        assert!(serde_json::from_value::<DevelopmentMilestone>(bad).is_err());
        let unknown_code = r#"{"milestone":"juggling","achieved":"yes","answered_on":"2026-12-15"}"#;
        assert!(serde_json::from_str::<DevelopmentMilestone>(unknown_code).is_err());
    }
}
