//! Bundle (search results, transactions, exports).

use super::resource::{backbone_struct, resource_struct};
use super::{Decimal, Identifier, Integer, Resource};

backbone_struct! {
    /// A link (self, next, ...).
    pub struct BundleLink {
        /// self | next | previous | ...
        #[serde(skip_serializing_if = "Option::is_none")]
        pub relation: Option<String>,
        /// The URL.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub url: Option<String>,
    }
}

backbone_struct! {
    /// Search information of an entry.
    pub struct BundleEntrySearch {
        /// match | include | outcome.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub mode: Option<String>,
        /// Search ranking.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub score: Option<Decimal>,
    }
}

backbone_struct! {
    /// Transaction / batch request of an entry.
    pub struct BundleEntryRequest {
        /// GET | HEAD | POST | PUT | DELETE | PATCH.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub method: Option<String>,
        /// URL for the request.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub url: Option<String>,
        /// If-None-Match.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub if_none_match: Option<String>,
        /// If-Modified-Since.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub if_modified_since: Option<String>,
        /// If-Match.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub if_match: Option<String>,
        /// If-None-Exist.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub if_none_exist: Option<String>,
    }
}

backbone_struct! {
    /// Transaction / batch response of an entry.
    pub struct BundleEntryResponse {
        /// HTTP status (with optional text).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub status: Option<String>,
        /// Location of a created resource.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub location: Option<String>,
        /// ETag.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub etag: Option<String>,
        /// Last modified.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub last_modified: Option<String>,
        /// OperationOutcome with hints and warnings (boxed like [`BundleEntry::resource`]).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub outcome: Option<Box<Resource>>,
    }
}

backbone_struct! {
    /// One entry.
    pub struct BundleEntry {
        /// Entry links.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub link: Vec<BundleLink>,
        /// Absolute URL of the resource.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub full_url: Option<String>,
        /// The resource. Boxed: a [`Resource`] is kilobytes wide, and a Bundle of
        /// thousands of entries (`$everything`) would otherwise copy them at every
        /// growth of `entry`.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub resource: Option<Box<Resource>>,
        /// Search information.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub search: Option<BundleEntrySearch>,
        /// Request.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub request: Option<BundleEntryRequest>,
        /// Response.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub response: Option<BundleEntryResponse>,
    }
}

resource_struct! {
    /// A container of resources.
    pub struct Bundle (base) {
        /// Identifier.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub identifier: Option<Identifier>,
        /// document | message | transaction | transaction-response | batch | batch-response | history | searchset | collection.
        #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
        pub type_: Option<String>,
        /// When assembled.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub timestamp: Option<String>,
        /// Total matches (searchset).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub total: Option<Integer>,
        /// Links.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub link: Vec<BundleLink>,
        /// Entries.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub entry: Vec<BundleEntry>,
        /// Signature (kept as sent).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub signature: Option<serde_json::Value>,
    }
}

impl Bundle {
    /// A bundle of `type_` holding `resources`. Each entry that has an id gets the
    /// absolute `fullUrl` `<base_url>/<Type>/<id>`: R4 defines `Bundle.entry.fullUrl`
    /// as *the absolute URL* of the resource, so a relative `Type/id` is not allowed
    /// there. `base_url` is the FHIR base (e.g. `https://phr.example/fhir/r4`); a
    /// trailing `/` is ignored.
    pub fn of(type_: &str, base_url: &str, resources: Vec<Resource>) -> Self {
        let base = base_url.trim_end_matches('/');
        let entry = resources
            .into_iter()
            .map(|r| BundleEntry { full_url: full_url(base, &r), resource: Some(Box::new(r)), ..Default::default() })
            .collect();
        Bundle { type_: Some(type_.to_owned()), entry, ..Default::default() }
    }

    /// A `transaction` that creates or updates each resource at its own id: every
    /// entry carries the `request` a transaction entry must have (R4 invariant
    /// bdl-3), `PUT <Type>/<id>`, and its absolute `fullUrl` as in [`Bundle::of`].
    /// A resource without an id is sent as `POST <Type>`.
    pub fn transaction(base_url: &str, resources: Vec<Resource>) -> Self {
        let mut bundle = Bundle::of("transaction", base_url, resources);
        for entry in &mut bundle.entry {
            let Some(r) = &entry.resource else { continue };
            let (method, url) = match r.id() {
                Some(id) => ("PUT", format!("{}/{id}", r.resource_type())),
                None => ("POST", r.resource_type().to_owned()),
            };
            entry.request =
                Some(BundleEntryRequest { method: Some(method.into()), url: Some(url), ..Default::default() });
        }
        bundle
    }

    /// The resources of the entries, in order.
    pub fn resources(&self) -> impl Iterator<Item = &Resource> {
        self.entry.iter().filter_map(|e| e.resource.as_deref())
    }
}

fn full_url(base: &str, r: &Resource) -> Option<String> {
    r.id().map(|id| format!("{base}/{}/{id}", r.resource_type()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Encounter, Observation};

    fn resources() -> Vec<Resource> {
        vec![
            Encounter { id: Some("e1".into()), ..Default::default() }.into(),
            Observation { id: Some("e1-weight".into()), ..Default::default() }.into(),
            Observation::default().into(),
        ]
    }

    #[test]
    fn bundle_entries_get_absolute_full_urls_from_the_base_never_relative_ones() {
        let b = Bundle::of("searchset", "https://phr.example/fhir/r4/", resources());
        let urls: Vec<Option<&str>> = b.entry.iter().map(|e| e.full_url.as_deref()).collect();
        assert_eq!(
            urls,
            [
                Some("https://phr.example/fhir/r4/Encounter/e1"),
                Some("https://phr.example/fhir/r4/Observation/e1-weight"),
                None
            ]
        );
        assert_eq!(b.type_.as_deref(), Some("searchset"));
        assert_eq!(b.resources().count(), 3);
    }

    #[test]
    fn transaction_entries_each_carry_a_request_put_at_their_id_or_post_without_one() {
        let b = Bundle::transaction("https://phr.example/fhir/r4", resources());
        assert_eq!(b.type_.as_deref(), Some("transaction"));
        let requests: Vec<(Option<&str>, Option<&str>)> = b
            .entry
            .iter()
            .map(|e| e.request.as_ref().map(|r| (r.method.as_deref(), r.url.as_deref())).unwrap_or_default())
            .collect();
        assert_eq!(
            requests,
            [
                (Some("PUT"), Some("Encounter/e1")),
                (Some("PUT"), Some("Observation/e1-weight")),
                (Some("POST"), Some("Observation"))
            ]
        );
        let text = serde_json::to_string(&Resource::from(b)).unwrap();
        assert!(text.contains(r#""request":{"method":"PUT","url":"Encounter/e1"}"#), "{text}");
    }
}
