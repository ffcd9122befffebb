//! Typed ids of the server's own entities, so an account id cannot be passed
//! where a device id is meant. They deref to `&str` (what the store takes)
//! and print as stored. Grant ids are phr-core's [`GrantId`](phr_core::consent::GrantId);
//! record ids are [`RecordId`].

use std::fmt;
use std::ops::Deref;

use uuid::Uuid;

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The id as stored and sent (already checked where it entered).
            pub fn new(id: impl Into<String>) -> Self {
                $name(id.into())
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool {
                self == other.0
            }
        }
    };
}

text_id! {
    /// A family's account (the server's id, a UUID as text).
    AccountId
}

text_id! {
    /// One of an account's devices (a phone or tablet signed in to the account).
    DeviceId
}

/// A record of a family (the same id on every device and on the server).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct RecordId(pub Uuid);

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_compare_with_their_text_and_serialize_as_plain_strings() {
        let a = AccountId::new("acc-1");
        assert_eq!(a, "acc-1");
        assert_eq!(&*a, "acc-1");
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"acc-1\"");
        let r = RecordId(Uuid::nil());
        assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{}\"", Uuid::nil()));
    }
}
