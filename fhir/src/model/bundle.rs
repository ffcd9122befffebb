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
        /// OperationOutcome with hints and warnings.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub outcome: Option<Resource>,
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
        /// The resource.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub resource: Option<Resource>,
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
    /// A bundle of `type_` holding `resources`, each with `fullUrl` `urn:uuid:`-less
    /// relative form `Type/id` when it has an id.
    pub fn of(type_: &str, resources: Vec<Resource>) -> Self {
        let entry = resources
            .into_iter()
            .map(|r| BundleEntry {
                full_url: r.id().map(|id| format!("{}/{id}", r.resource_type())),
                resource: Some(r),
                ..Default::default()
            })
            .collect();
        Bundle { type_: Some(type_.to_owned()), entry, ..Default::default() }
    }

    /// The resources of the entries, in order.
    pub fn resources(&self) -> impl Iterator<Item = &Resource> {
        self.entry.iter().filter_map(|e| e.resource.as_ref())
    }
}
