//! The [`Event`] trait: a payload type with its kind (routing key) and schema version, put in and
//! read out of an [`Envelope`]. The events themselves are the `contracts` crate's.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Envelope;

/// An event type: its kind (routing key) and current schema version. A payload's shape changes
/// only by adding optional fields; anything else is a new schema version.
pub trait Event: Serialize + DeserializeOwned {
    const KIND: &'static str;
    const VERSION: u32;

    /// The event in an envelope, in the current trace.
    fn envelope(&self) -> Result<Envelope, serde_json::Error> {
        Envelope::new(Self::KIND, Self::VERSION, self)
    }

    /// Reads an envelope that must hold this event at the schema version this build knows; any
    /// other kind, another version or an unreadable payload is an error saying which, for the
    /// dead-letter queue (a consumer never guesses at a version it does not know).
    fn read(envelope: &Envelope) -> Result<Self, String> {
        if envelope.kind != Self::KIND || envelope.schema_version != Self::VERSION {
            return Err(format!(
                "expected {} v{}, got {} v{}",
                Self::KIND,
                Self::VERSION,
                envelope.kind,
                envelope.schema_version
            ));
        }
        envelope
            .decode()
            .map_err(|err| format!("unreadable {} payload: {err}", Self::KIND))
    }
}
