//! QuestionnaireResponse (parent-completed questionnaires).

use super::resource::{backbone_struct, resource_struct};
use super::{Identifier, Reference, ValueX};

backbone_struct! {
    /// One answer.
    pub struct QuestionnaireResponseAnswer {
        /// `value[x]`.
        #[serde(flatten)]
        pub value: Option<ValueX>,
        /// Nested items.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub item: Vec<QuestionnaireResponseItem>,
    }
}

backbone_struct! {
    /// One question (or group) and its answers.
    pub struct QuestionnaireResponseItem {
        /// The Questionnaire item's linkId.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub link_id: Option<String>,
        /// Definition.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub definition: Option<String>,
        /// The question text.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub text: Option<String>,
        /// Answers.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub answer: Vec<QuestionnaireResponseAnswer>,
        /// Nested items.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub item: Vec<QuestionnaireResponseItem>,
    }
}

resource_struct! {
    /// Answers to a questionnaire.
    pub struct QuestionnaireResponse (domain) {
        /// Identifier.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub identifier: Option<Identifier>,
        /// Requests this fulfils.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub based_on: Vec<Reference>,
        /// Larger event this is part of.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub part_of: Vec<Reference>,
        /// The questionnaire (canonical).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub questionnaire: Option<String>,
        /// in-progress | completed | amended | entered-in-error | stopped.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub status: Option<String>,
        /// Who or what the answers are about.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub subject: Option<Reference>,
        /// The encounter.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub encounter: Option<Reference>,
        /// When answered.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub authored: Option<String>,
        /// Who answered.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub author: Option<Reference>,
        /// Who the answers came from.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub source: Option<Reference>,
        /// Items.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub item: Vec<QuestionnaireResponseItem>,
    }
}
