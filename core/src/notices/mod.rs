//! Municipal notices: what a city or town tells the families that follow it
//! ("the 4-month checkup group session is on the 12th", "prenatal dental
//! checkups are free for mothers at 20–27 weeks").
//!
//! A notice is **public content**: it names no person and is addressed to a
//! *target* (a range of pregnancy weeks and/or of child ages in months), not to
//! anyone. The server publishes the notices of each municipality as a public,
//! cacheable feed; the app fetches the feeds of the municipalities the family
//! follows and decides **on the device** which notices concern the family
//! ([`applies`]), so the server never learns a gestational week or a child's age.
//!
//! One set of rules, used by the server when a municipality publishes or edits
//! ([`NoticeDraft::validate`]) and by the app when it filters a feed:
//! - `title`: 1–[`MAX_TITLE_CHARS`] characters, one line; `body`:
//!   1–[`MAX_BODY_CHARS`] characters, line breaks allowed. Both are **plain
//!   text**: control characters, HTML markup (`<p>`, `</a>`, `<!--`) and
//!   character references (`&amp;`, `&#12354;`) are refused, never stripped,
//!   so what the municipality sees in its own system is what families read.
//! - `link` (optional): an `https` URL without credentials, ≤ [`MAX_LINK_CHARS`].
//! - `language`: a BCP 47 tag (`ja`, `en`, `pt-BR`, `zh-Hant`); a municipality
//!   that writes in several languages publishes one notice per language.
//! - `valid_from` ≤ `valid_until`, at most [`MAX_VALIDITY_DAYS`] apart.
//! - `target.pregnancy_weeks` (`from`–`to`, completed weeks, 0–[`MAX_PREGNANCY_WEEK`])
//!   and/or `target.child_age_months` (`from`–`to`, completed months,
//!   0–[`MAX_CHILD_AGE_MONTHS`]), both inclusive. A notice with both concerns a
//!   family where either matches; with neither, every family that follows the
//!   municipality.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::consent::OrganizationId;
use crate::dataset::common::{Problems, ValidationErrors};
use crate::dataset::Subject;

/// The longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 120;
/// The longest body, in characters.
pub const MAX_BODY_CHARS: usize = 2_000;
/// The longest link, in characters.
pub const MAX_LINK_CHARS: usize = 2_000;
/// The longest language tag, in characters.
pub const MAX_LANGUAGE_CHARS: usize = 35;
/// The longest validity period (`valid_until - valid_from`), in days.
pub const MAX_VALIDITY_DAYS: i64 = 731;
/// The last pregnancy week a target may name (42 weeks is post-term; a few more for dating error).
pub const MAX_PREGNANCY_WEEK: u32 = 45;
/// The last child age a target may name, in months (to the end of the 18th year).
pub const MAX_CHILD_AGE_MONTHS: u32 = 215;

/// A notice's id (a UUID the server gives it when it is published).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NoticeId(pub Uuid);

impl NoticeId {
    /// A new random id.
    pub fn random() -> Self {
        NoticeId(Uuid::new_v4())
    }
}

impl std::fmt::Display for NoticeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// An inclusive range of whole numbers (completed weeks or completed months).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Range {
    /// The first value in range.
    pub from: u32,
    /// The last value in range.
    pub to: u32,
}

impl Range {
    /// Whether `value` lies in the range (both ends included).
    pub fn contains(&self, value: u32) -> bool {
        (self.from..=self.to).contains(&value)
    }

    fn check(&self, path: &str, max: u32, unit: &str, p: &mut Problems) {
        if self.from > self.to {
            p.push(format!("{path}.from"), format!("must not be after {path}.to"));
        }
        if self.to > max {
            p.push(format!("{path}.to"), format!("must be 0–{max} {unit}"));
        }
    }
}

/// Whom a notice is for. Empty: every family that follows the municipality.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeTarget {
    /// Mothers whose ongoing pregnancy is in these completed weeks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pregnancy_weeks: Option<Range>,
    /// Children of these ages, in completed months.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_age_months: Option<Range>,
}

impl NoticeTarget {
    /// Whether the notice is for every family.
    pub fn is_everyone(&self) -> bool {
        self.pregnancy_weeks.is_none() && self.child_age_months.is_none()
    }
}

/// What a municipality writes: the content of a notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeDraft {
    /// One line of plain text.
    pub title: String,
    /// Plain text; lines separated by `\n`.
    pub body: String,
    /// Where to read more (https).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// The language it is written in (BCP 47).
    pub language: String,
    /// The first day it is shown.
    pub valid_from: NaiveDate,
    /// The last day it is shown.
    pub valid_until: NaiveDate,
    /// Whom it is for.
    #[serde(default)]
    pub target: NoticeTarget,
}

impl NoticeDraft {
    /// Every problem with the draft, by field (`Ok` if there is none).
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut p = Problems::new();
        check_text("title", &self.title, MAX_TITLE_CHARS, false, &mut p);
        check_text("body", &self.body, MAX_BODY_CHARS, true, &mut p);
        if let Some(link) = &self.link {
            if let Err(why) = check_link(link) {
                p.push("link", why);
            }
        }
        if !is_language_tag(&self.language) {
            p.push("language", "must be a BCP 47 language tag such as ja, en or pt-BR");
        }
        for (path, date) in [("valid_from", self.valid_from), ("valid_until", self.valid_until)] {
            if let Err(e) = crate::dates::check(date) {
                p.push(path, e.to_string());
            }
        }
        let days = (self.valid_until - self.valid_from).num_days();
        if days < 0 {
            p.push("valid_until", "must not be before valid_from");
        } else if days > MAX_VALIDITY_DAYS {
            p.push("valid_until", format!("must be at most {MAX_VALIDITY_DAYS} days after valid_from"));
        }
        if let Some(weeks) = &self.target.pregnancy_weeks {
            weeks.check("target.pregnancy_weeks", MAX_PREGNANCY_WEEK, "weeks", &mut p);
        }
        if let Some(months) = &self.target.child_age_months {
            months.check("target.child_age_months", MAX_CHILD_AGE_MONTHS, "months", &mut p);
        }
        p.finish()
    }
}

/// A published notice, as the feed and the municipality's own API show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// Its id.
    pub id: NoticeId,
    /// The municipality (an organization of kind `municipality`) that published it.
    pub municipality: OrganizationId,
    /// 1 when published, one more at every edit.
    pub version: u32,
    /// When it was published and last edited (RFC 3339, UTC).
    pub published_at: String,
    /// See `published_at`.
    pub updated_at: String,
    /// What the municipality wrote.
    #[serde(flatten)]
    pub content: NoticeDraft,
}

/// A municipality's public feed: its notices that have not expired or been withdrawn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeFeed {
    /// The municipality's organization id.
    pub municipality: OrganizationId,
    /// The municipality's display name.
    pub name: String,
    /// Newest first.
    pub notices: Vec<Notice>,
}

/// What the device knows of one person of the family on a given day, for
/// [`applies`]: never sent anywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FamilyMember {
    /// The mother with an ongoing pregnancy in this completed week.
    PregnantMother {
        /// Completed weeks of gestation.
        week: u32,
    },
    /// A child, this many completed months old.
    Child {
        /// The child.
        subject: Subject,
        /// Age in completed months.
        months: u32,
    },
}

/// Why a notice concerns one person of the family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeMatch {
    /// Whom it concerns (the mother or a child); `None` for a notice to every family.
    pub subject: Option<Subject>,
    /// The pregnancy week or child age in months that matched.
    pub matched: Option<Matched>,
}

/// The value of the family's own record that put a notice in range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matched {
    /// The mother's completed pregnancy week.
    PregnancyWeek(u32),
    /// The child's age in completed months.
    ChildAgeMonths(u32),
}

/// Whom of the family `notice` concerns on `today`: nobody outside its
/// validity period; everyone (one match without a subject) when it has no
/// target; else each member in its pregnancy-week or child-age range.
pub fn applies(notice: &NoticeDraft, family: &[FamilyMember], today: NaiveDate) -> Vec<NoticeMatch> {
    if today < notice.valid_from || today > notice.valid_until {
        return Vec::new();
    }
    if notice.target.is_everyone() {
        return vec![NoticeMatch { subject: None, matched: None }];
    }
    family
        .iter()
        .filter_map(|member| match member {
            FamilyMember::PregnantMother { week } => notice
                .target
                .pregnancy_weeks
                .filter(|r| r.contains(*week))
                .map(|_| NoticeMatch { subject: Some(Subject::Mother), matched: Some(Matched::PregnancyWeek(*week)) }),
            FamilyMember::Child { subject, months } => notice
                .target
                .child_age_months
                .filter(|r| r.contains(*months))
                .map(|_| NoticeMatch { subject: Some(*subject), matched: Some(Matched::ChildAgeMonths(*months)) }),
        })
        .collect()
}

/// Completed months from `birth` to `on` (0 before the first month is full;
/// `None` before birth). A child born on the 31st is a month old on the last
/// day of a shorter month.
pub fn age_in_completed_months(birth: NaiveDate, on: NaiveDate) -> Option<u32> {
    if on < birth {
        return None;
    }
    let months = (on.year() - birth.year()) * 12 + on.month() as i32 - birth.month() as i32;
    let anniversary = birth.checked_add_months(chrono::Months::new(u32::try_from(months).ok()?))?;
    let months = if anniversary > on { months - 1 } else { months };
    u32::try_from(months).ok()
}

/// A title or body: not blank, at most `max` characters, plain text.
fn check_text(path: &str, text: &str, max: usize, multiline: bool, p: &mut Problems) {
    let chars = text.chars().count();
    if text.trim().is_empty() {
        p.push(path, "must not be blank");
    } else if chars > max {
        p.push(path, format!("must be at most {max} characters, got {chars}"));
    }
    if text.chars().any(|c| c.is_control() && !(multiline && c == '\n')) {
        let allowed = if multiline { " (line breaks are \\n)" } else { " (one line)" };
        p.push(path, format!("must not contain control characters{allowed}"));
    }
    if let Some(what) = markup(text) {
        p.push(path, format!("must be plain text: {what} is not allowed"));
    }
}

/// HTML markup in `text`, named: a tag (`<` then a letter, `/`, `!` or `?`) or
/// a character reference (`&name;`, `&#123;`, `&#x1F;`).
fn markup(text: &str) -> Option<&'static str> {
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        let next = bytes.get(i + 1).copied();
        if b == b'<' && next.is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, b'/' | b'!' | b'?')) {
            return Some("HTML markup (a tag)");
        }
        if b == b'&' {
            let rest = &bytes[i + 1..];
            let end = rest.iter().take(33).position(|&c| c == b';');
            if let Some(end) = end {
                let name = &rest[..end];
                let named = !name.is_empty() && name.iter().all(u8::is_ascii_alphanumeric);
                let numeric = name.first() == Some(&b'#')
                    && name.len() > 1
                    && (name[1..].iter().all(u8::is_ascii_digit)
                        || (matches!(name[1], b'x' | b'X')
                            && name.len() > 2
                            && name[2..].iter().all(u8::is_ascii_hexdigit)));
                if named || numeric {
                    return Some("an HTML character reference");
                }
            }
        }
    }
    None
}

/// An `https` URL with a host and no credentials, at most [`MAX_LINK_CHARS`].
fn check_link(link: &str) -> Result<(), String> {
    if link.chars().count() > MAX_LINK_CHARS {
        return Err(format!("must be at most {MAX_LINK_CHARS} characters"));
    }
    let url = url::Url::parse(link).map_err(|_| "must be an absolute https URL".to_owned())?;
    if url.scheme() != "https" {
        return Err("must be an https URL".to_owned());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("must name a host".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry a user name or password".to_owned());
    }
    if link.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces or control characters".to_owned());
    }
    Ok(())
}

/// A BCP 47 tag as used here: a 2–3 letter primary language, then subtags of
/// 1–8 letters or digits, at most [`MAX_LANGUAGE_CHARS`].
pub fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary_ok =
        parts.next().is_some_and(|p| (2..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    primary_ok
        && tag.len() <= MAX_LANGUAGE_CHARS
        && parts.all(|s| (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests;
