//! Book documents: their kinds (PDF, EPUB, plain text), recognised by their bytes, and the checks
//! made while an upload streams through (size, SHA-256, text that stays UTF-8 to the end).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// The largest document upload.
pub const MAX_DOCUMENT_BYTES: u64 = 50 * 1024 * 1024;

/// How many leading bytes tell a document's kind (an EPUB names itself 30 to 58 bytes in).
pub const SNIFF_BYTES: usize = 64;

/// What a stored document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DocumentKind {
    Pdf,
    Epub,
    Text,
}

impl DocumentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Epub => "epub",
            Self::Text => "text",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Pdf, Self::Epub, Self::Text]
            .into_iter()
            .find(|kind| kind.as_str() == raw)
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Epub => "application/epub+zip",
            Self::Text => "text/plain; charset=utf-8",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Epub => "epub",
            Self::Text => "txt",
        }
    }

    /// The kind of a document that starts with `head` (its first [`SNIFF_BYTES`] bytes, or all
    /// of it when shorter): a PDF header, an EPUB container (a ZIP whose first entry is the
    /// uncompressed `mimetype` file saying `application/epub+zip`, as the EPUB standard
    /// requires), or UTF-8 text without control characters. Anything else is `None`.
    pub fn sniff(head: &[u8]) -> Option<Self> {
        const EPUB_MIMETYPE: &[u8] = b"mimetypeapplication/epub+zip";
        if head.starts_with(b"%PDF-") {
            Some(Self::Pdf)
        } else if head.starts_with(b"PK\x03\x04")
            && head.get(30..30 + EPUB_MIMETYPE.len()) == Some(EPUB_MIMETYPE)
        {
            Some(Self::Epub)
        } else if !head.is_empty() && TextCheck::default().feed(head).is_ok() {
            Some(Self::Text)
        } else {
            None
        }
    }
}

/// Why a document upload was refused while it streamed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DocumentError {
    #[error("the file is not a PDF, an EPUB or plain UTF-8 text (judged by its content)")]
    UnknownKind,
    #[error("the document is larger than {} MiB", MAX_DOCUMENT_BYTES / 1024 / 1024)]
    TooLarge,
    #[error("the file is empty")]
    Empty,
    #[error("the text is not UTF-8 text from byte {0} on")]
    NotText(u64),
}

/// Follows a plain-text upload chunk by chunk: it must be UTF-8 (a character may straddle two
/// chunks) without control characters other than tab, line breaks and form feed.
#[derive(Debug, Default)]
pub struct TextCheck {
    /// The start of a character cut off at the end of the last chunk.
    pending: Vec<u8>,
    /// Bytes accepted so far, for the error's position.
    offset: u64,
}

impl TextCheck {
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), DocumentError> {
        let mut joined = std::mem::take(&mut self.pending);
        joined.extend_from_slice(chunk);
        let (valid, rest) = match std::str::from_utf8(&joined) {
            Ok(text) => (text, &[][..]),
            // An incomplete character at the very end waits for the next chunk.
            Err(err) if err.error_len().is_none() => {
                let (valid, rest) = joined.split_at(err.valid_up_to());
                (std::str::from_utf8(valid).unwrap_or_default(), rest)
            }
            Err(err) => {
                return Err(DocumentError::NotText(
                    self.offset + err.valid_up_to() as u64,
                ));
            }
        };
        if let Some(position) = valid
            .char_indices()
            .find(|(_, c)| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\u{c}'))
            .map(|(position, _)| position)
        {
            return Err(DocumentError::NotText(self.offset + position as u64));
        }
        self.offset += valid.len() as u64;
        self.pending = rest.to_vec();
        Ok(())
    }

    /// The end of the text: a character still cut off is not text.
    pub fn finish(&self) -> Result<(), DocumentError> {
        if self.pending.is_empty() {
            Ok(())
        } else {
            Err(DocumentError::NotText(self.offset))
        }
    }
}

/// What is learnt of a document while it streams in.
#[derive(Debug)]
pub struct DocumentCheck {
    pub kind: DocumentKind,
    bytes: u64,
    sha256: Sha256,
    text: Option<TextCheck>,
}

/// A document that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedDocument {
    pub kind: DocumentKind,
    pub bytes: u64,
    /// Lower-case hex.
    pub sha256: String,
}

impl DocumentCheck {
    /// Starts from the document's first bytes (see [`DocumentKind::sniff`]).
    pub fn start(head: &[u8]) -> Result<Self, DocumentError> {
        if head.is_empty() {
            return Err(DocumentError::Empty);
        }
        let kind = DocumentKind::sniff(head).ok_or(DocumentError::UnknownKind)?;
        Ok(Self {
            kind,
            bytes: 0,
            sha256: Sha256::new(),
            text: (kind == DocumentKind::Text).then(TextCheck::default),
        })
    }

    /// Takes the next bytes (the head first).
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), DocumentError> {
        self.bytes += chunk.len() as u64;
        if self.bytes > MAX_DOCUMENT_BYTES {
            return Err(DocumentError::TooLarge);
        }
        if let Some(text) = &mut self.text {
            text.feed(chunk)?;
        }
        self.sha256.update(chunk);
        Ok(())
    }

    pub fn finish(self) -> Result<CheckedDocument, DocumentError> {
        if let Some(text) = &self.text {
            text.finish()?;
        }
        Ok(CheckedDocument {
            kind: self.kind,
            bytes: self.bytes,
            sha256: hex(&self.sha256.finalize()),
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The file name a download is saved under, made from the book's title: an ASCII form for the
/// `filename` parameter and the full UTF-8 title, percent-encoded, for `filename*` (RFC 6266).
/// Path separators, quotes and control characters never pass, whatever the title holds.
pub fn download_name(title: &str, kind: DocumentKind) -> (String, String) {
    let cleaned: String = title
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '/' | '\\' | '"' | ':' | '*' | '?' | '<' | '>' | '|') {
                ' '
            } else {
                c
            }
        })
        .collect();
    // Words of dots alone (`..`) go, and a leading dot would hide the file on Unix.
    let words: Vec<&str> = cleaned
        .split_whitespace()
        .filter(|word| !word.chars().all(|c| c == '.'))
        .collect();
    let joined = words.join(" ");
    let unicode: String = joined.trim_start_matches('.').chars().take(120).collect();
    let unicode = match unicode.trim() {
        "" => "book".to_owned(),
        name => name.to_owned(),
    };
    let ascii: String = unicode
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let extension = kind.extension();
    (
        format!("{ascii}.{extension}"),
        format!("{}.{extension}", percent_encode(&unicode)),
    )
}

/// Percent-encodes everything but RFC 5987's `attr-char`.
fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn epub_head() -> Vec<u8> {
        let mut head = b"PK\x03\x04".to_vec();
        head.resize(30, 0);
        head.extend_from_slice(b"mimetypeapplication/epub+zip");
        head
    }

    #[test]
    fn kinds_are_recognised_by_content() {
        assert_eq!(DocumentKind::sniff(b"%PDF-1.7\n"), Some(DocumentKind::Pdf));
        assert_eq!(DocumentKind::sniff(&epub_head()), Some(DocumentKind::Epub));
        assert_eq!(
            DocumentKind::sniff("Il était une fois\n".as_bytes()),
            Some(DocumentKind::Text)
        );
        // A ZIP that is not an EPUB, an executable, a PNG, binary junk.
        let mut zip = b"PK\x03\x04".to_vec();
        zip.resize(64, 0);
        for other in [
            &zip[..],
            b"\x7fELF\x02\x01",
            b"\x89PNG\r\n\x1a\n",
            b"\x00\x01\x02",
        ] {
            assert_eq!(DocumentKind::sniff(other), None, "{other:?}");
        }
    }

    #[test]
    fn text_may_split_a_character_between_chunks() {
        let text = "naïve café".as_bytes();
        let mut check = DocumentCheck::start(&text[..3]).unwrap();
        check.feed(&text[..3]).unwrap(); // "na" and the first byte of "ï"
        check.feed(&text[3..]).unwrap();
        let done = check.finish().unwrap();
        assert_eq!(done.kind, DocumentKind::Text);
        assert_eq!(done.bytes, text.len() as u64);
        assert_eq!(
            done.sha256,
            hex(&Sha256::digest(text)),
            "the hash is of the whole document"
        );
    }

    #[test]
    fn text_that_turns_binary_is_refused_with_its_position() {
        let mut check = DocumentCheck::start(b"plain start").unwrap();
        check.feed(b"plain start").unwrap();
        assert_eq!(check.feed(b"\xff\xfe"), Err(DocumentError::NotText(11)));
        let mut check = DocumentCheck::start(b"abc").unwrap();
        check.feed(b"abc").unwrap();
        assert_eq!(check.feed(b"d\0e"), Err(DocumentError::NotText(4)));
        let mut cut = DocumentCheck::start(b"abc").unwrap();
        cut.feed(b"abc\xc3").unwrap();
        assert_eq!(cut.finish(), Err(DocumentError::NotText(3)));
    }

    #[test]
    fn a_document_may_not_pass_the_size_limit() {
        let mut check = DocumentCheck::start(b"%PDF-1.4").unwrap();
        let chunk = vec![b'x'; 1024 * 1024];
        for _ in 0..50 {
            check.feed(&chunk).unwrap();
        }
        assert_eq!(check.feed(b"x"), Err(DocumentError::TooLarge));
        assert_eq!(DocumentCheck::start(b"").unwrap_err(), DocumentError::Empty);
    }

    #[test]
    fn download_names_keep_no_path_or_header_syntax() {
        assert_eq!(
            download_name("The Odyssey", DocumentKind::Pdf),
            ("The Odyssey.pdf".into(), "The%20Odyssey.pdf".into())
        );
        let (ascii, unicode) = download_name("../../etc/passwd\"\r\nX: y", DocumentKind::Text);
        assert_eq!(ascii, "etc passwd X y.txt");
        assert!(!unicode.contains('/') && !unicode.contains('"') && !unicode.contains('\n'));
        assert_eq!(
            download_name("Les Misérables", DocumentKind::Epub),
            (
                "Les Mis_rables.epub".into(),
                "Les%20Mis%C3%A9rables.epub".into()
            )
        );
        assert_eq!(download_name("...", DocumentKind::Pdf).0, "book.pdf");
    }
}
