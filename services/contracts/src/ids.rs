//! The ids that cross a process boundary, one type per thing they name, so that an order id
//! cannot be passed where a book id is meant. On the wire each is a plain string.
//!
//! An id enters the system once, through [`BookId::parse`] (and its siblings), which applies
//! the one rule for ids ([`platform::db::check_id`]). Ids read back from storage, or from a
//! component that parsed them, are taken as they are (`From<String>`): a receiver that needs
//! the rule enforced again (a request it answers field by field) parses the text itself.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Declares one id type: a string with the id rule as its parse.
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
        )]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The id in `raw`, if it follows the rule for ids; `Err` says what is wrong, for a
            /// field error.
            pub fn parse(raw: &str) -> Result<Self, String> {
                platform::db::check_id(raw).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl From<String> for $name {
            fn from(stored: String) -> Self {
                Self(stored)
            }
        }

        impl From<&str> for $name {
            fn from(stored: &str) -> Self {
                Self(stored.to_owned())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type! {
    /// A book's id in the catalogue: 1 to 36 characters, no spaces or control characters.
    BookId
}

id_type! {
    /// An order's id: 1 to 36 characters, no spaces or control characters. Also the key of the
    /// order's reservation in inventory.
    OrderId
}

id_type! {
    /// A user's id: 1 to 36 characters, no spaces or control characters.
    UserId
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_parses_by_the_one_rule_and_travels_as_a_plain_string() {
        let id = BookId::parse("book-1").unwrap();
        assert_eq!(id.as_str(), "book-1");
        assert_eq!(
            serde_json::to_value(&id).unwrap(),
            serde_json::json!("book-1")
        );
        assert_eq!(
            serde_json::from_value::<BookId>(serde_json::json!("book-1")).unwrap(),
            id
        );
        for bad in ["", "has space", "nul\u{0}", &"x".repeat(37)] {
            assert_eq!(
                OrderId::parse(bad).unwrap_err(),
                platform::db::check_id(bad).unwrap_err(),
                "{bad:?}"
            );
        }
    }
}
