//! The text of a stored document: a PDF's text layer, an EPUB's chapters in reading order, or
//! the text itself. Only our own stored bytes are read; nothing here follows a link or fetches
//! anything.

use std::io::{Cursor, Read};

use catalog::document::DocumentKind;

/// The most text kept from one document, in bytes: far more than any summary reads (the chunk
/// cap stops earlier), and a bound on memory whatever the document claims to hold.
const MAX_TEXT_BYTES: usize = 8 * 1024 * 1024;

/// The most bytes read from one EPUB entry once inflated: a guard against ZIP bombs.
const MAX_ENTRY_BYTES: u64 = 16 * 1024 * 1024;

/// Why a document gave no text.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExtractError {
    #[error("the PDF's text cannot be read: {0}")]
    Pdf(String),
    #[error("the EPUB cannot be read: {0}")]
    Epub(String),
    #[error("the document has no text to summarise")]
    NoText,
}

/// The document's text, with runs of white space made single and paragraphs kept apart by a
/// blank line. CPU-bound: call it off the async threads.
pub fn text_of(kind: DocumentKind, bytes: &[u8]) -> Result<String, ExtractError> {
    let raw = match kind {
        DocumentKind::Text => String::from_utf8_lossy(bytes).into_owned(),
        DocumentKind::Pdf => pdf_extract::extract_text_from_mem(bytes)
            .map_err(|err| ExtractError::Pdf(err.to_string()))?,
        DocumentKind::Epub => epub_text(bytes)?,
    };
    let text = tidy(&raw);
    if text.trim().is_empty() {
        return Err(ExtractError::NoText);
    }
    Ok(text)
}

/// Paragraphs (split on blank lines) with their white space made single.
fn tidy(raw: &str) -> String {
    let mut out = String::new();
    for paragraph in raw.split("\n\n") {
        let words: Vec<&str> = paragraph.split_whitespace().collect();
        if words.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str(&words.join(" "));
        if out.len() >= MAX_TEXT_BYTES {
            let mut end = MAX_TEXT_BYTES;
            while !out.is_char_boundary(end) {
                end -= 1;
            }
            out.truncate(end);
            break;
        }
    }
    out
}

/// An EPUB's chapters in reading order: `META-INF/container.xml` names the package document,
/// whose spine lists the chapters by manifest id.
fn epub_text(bytes: &[u8]) -> Result<String, ExtractError> {
    let fail = |what: &str| ExtractError::Epub(what.to_owned());
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|err| ExtractError::Epub(err.to_string()))?;
    let container = entry(&mut archive, "META-INF/container.xml")?;
    let package_path = attribute_values(&container, "rootfile", "full-path")
        .into_iter()
        .next()
        .ok_or_else(|| fail("META-INF/container.xml names no package document"))?;
    let package = entry(&mut archive, &package_path)?;
    let base = package_path
        .rsplit_once('/')
        .map(|(dir, _)| format!("{dir}/"))
        .unwrap_or_default();
    let manifest: Vec<(String, String)> = elements(&package, "item")
        .iter()
        .filter_map(|item| Some((attribute(item, "id")?, attribute(item, "href")?)))
        .collect();
    let mut text = String::new();
    for idref in attribute_values(&package, "itemref", "idref") {
        let Some((_, href)) = manifest.iter().find(|(id, _)| *id == idref) else {
            continue;
        };
        let path = format!("{base}{}", href.split('#').next().unwrap_or(href));
        // A spine entry that is missing is skipped: the rest of the book still reads.
        if let Ok(chapter) = entry(&mut archive, &path) {
            text.push_str(&xhtml_text(&chapter));
            text.push_str("\n\n");
        }
        if text.len() >= MAX_TEXT_BYTES {
            break;
        }
    }
    Ok(text)
}

/// One entry of the archive as text, read up to [`MAX_ENTRY_BYTES`].
fn entry(archive: &mut zip::ZipArchive<Cursor<&[u8]>>, name: &str) -> Result<String, ExtractError> {
    let file = archive
        .by_name(name)
        .map_err(|err| ExtractError::Epub(format!("{name}: {err}")))?;
    let mut bytes = Vec::new();
    file.take(MAX_ENTRY_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|err| ExtractError::Epub(format!("{name}: {err}")))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The start tags named `name` (with or without a namespace prefix), each as its text between
/// `<` and `>`.
fn elements<'a>(xml: &'a str, name: &str) -> Vec<&'a str> {
    xml.split('<')
        .skip(1)
        .filter_map(|tag| tag.split_once('>').map(|(inside, _)| inside))
        .filter(|inside| {
            let tag_name = inside.split_whitespace().next().unwrap_or_default();
            let local = tag_name.rsplit(':').next().unwrap_or(tag_name);
            local == name
        })
        .collect()
}

/// The value of `name="…"` (or `'…'`) in a start tag.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let mut rest = tag;
    while let Some(position) = rest.find(name) {
        let before = rest[..position].chars().last();
        let after = rest[position + name.len()..].trim_start();
        rest = &rest[position + name.len()..];
        if !before.is_some_and(char::is_whitespace) {
            continue;
        }
        let Some(value) = after.strip_prefix('=') else {
            continue;
        };
        let value = value.trim_start();
        let quote = value.chars().next()?;
        if quote != '"' && quote != '\'' {
            continue;
        }
        let inner = &value[1..];
        return inner.find(quote).map(|end| decode_entities(&inner[..end]));
    }
    None
}

fn attribute_values(xml: &str, element: &str, name: &str) -> Vec<String> {
    elements(xml, element)
        .iter()
        .filter_map(|tag| attribute(tag, name))
        .collect()
}

/// The text of an XHTML chapter: the tags go, block ends become paragraph breaks, the contents
/// of `head`, `script` and `style` are left out, and entities are decoded.
fn xhtml_text(xhtml: &str) -> String {
    let mut out = String::new();
    let mut skipping: Option<String> = None;
    let mut pieces = xhtml.split('<');
    if let Some(first) = pieces.next() {
        out.push_str(first);
    }
    for piece in pieces {
        let (tag, after) = piece.split_once('>').unwrap_or((piece, ""));
        let closing = tag.starts_with('/');
        let tag_name = tag
            .trim_start_matches('/')
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let local = tag_name.rsplit(':').next().unwrap_or(&tag_name).to_owned();
        match &skipping {
            Some(skipped) if closing && *skipped == local => skipping = None,
            Some(_) => continue,
            None if !closing && matches!(local.as_str(), "head" | "script" | "style") => {
                if !tag.ends_with('/') {
                    skipping = Some(local);
                }
                continue;
            }
            None => {}
        }
        if matches!(
            local.as_str(),
            "p" | "div"
                | "br"
                | "h1"
                | "h2"
                | "h3"
                | "h4"
                | "h5"
                | "h6"
                | "li"
                | "tr"
                | "section"
                | "blockquote"
        ) {
            out.push_str("\n\n");
        } else {
            out.push(' ');
        }
        out.push_str(&decode_entities(after));
    }
    out
}

/// The five XML entities and numeric references; anything else is left as written.
fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find(';').filter(|end| *end <= 10) else {
            out.push('&');
            rest = after;
            continue;
        };
        let name = &after[..end];
        let decoded = match name {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some(' '),
            _ => name
                .strip_prefix("#x")
                .or_else(|| name.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| name.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]

    use std::io::Write;

    use super::*;

    /// An EPUB whose spine puts chapter two before chapter one, with a script to ignore.
    pub(crate) fn epub(chapters: &[(&str, &str)]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        zip.start_file("mimetype", stored).unwrap();
        zip.write_all(b"application/epub+zip").unwrap();
        zip.start_file("META-INF/container.xml", stored).unwrap();
        zip.write_all(br#"<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>"#).unwrap();
        let mut manifest = String::new();
        let mut spine = String::new();
        for (index, (id, body)) in chapters.iter().enumerate() {
            manifest.push_str(&format!(r#"<item id="{id}" href="text/ch{index}.xhtml" media-type="application/xhtml+xml"/>"#));
            spine.push_str(&format!(r#"<itemref idref="{id}"/>"#));
            zip.start_file(format!("OEBPS/text/ch{index}.xhtml"), stored)
                .unwrap();
            zip.write_all(format!(r#"<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>Not text</title><style>p {{ color: red }}</style></head><body><script>alert("no")</script>{body}</body></html>"#).as_bytes()).unwrap();
        }
        zip.start_file("OEBPS/content.opf", stored).unwrap();
        zip.write_all(format!(r#"<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0"><manifest>{manifest}</manifest><spine>{spine}</spine></package>"#).as_bytes()).unwrap();
        zip.finish().unwrap().into_inner()
    }

    #[test]
    fn an_epub_reads_in_spine_order_without_markup() {
        let book = epub(&[
            (
                "two",
                "<h1>Chapter Two</h1><p>Rain &amp; wind at&#160;dusk.</p>",
            ),
            (
                "one",
                "<p>It began <em>quietly</em>.</p><p>Then &lt;nothing&gt;.</p>",
            ),
        ]);
        let text = text_of(DocumentKind::Epub, &book).unwrap();
        assert_eq!(
            text,
            "Chapter Two\n\nRain & wind at dusk.\n\nIt began quietly .\n\nThen <nothing>."
        );
        assert!(!text.contains("alert") && !text.contains("color") && !text.contains("Not text"));
    }

    #[test]
    fn a_pdf_gives_its_text_layer() {
        let text = text_of(DocumentKind::Pdf, &pdf("Call me Ishmael")).unwrap();
        assert!(text.contains("Call me Ishmael"), "{text:?}");
    }

    #[test]
    fn plain_text_is_tidied_and_empty_documents_have_no_text() {
        assert_eq!(
            text_of(
                DocumentKind::Text,
                b"  One   line\nand more.\n\n\n\nNext  paragraph.  "
            )
            .unwrap(),
            "One line and more.\n\nNext paragraph."
        );
        assert_eq!(
            text_of(DocumentKind::Text, b" \n\n "),
            Err(ExtractError::NoText)
        );
        assert!(matches!(
            text_of(DocumentKind::Epub, b"PK\x03\x04junk"),
            Err(ExtractError::Epub(_))
        ));
        assert!(matches!(
            text_of(DocumentKind::Pdf, b"%PDF-1.4 junk"),
            Err(ExtractError::Pdf(_))
        ));
    }

    /// A one-page PDF whose text layer says `line`, with a correct cross-reference table.
    pub(crate) fn pdf(line: &str) -> Vec<u8> {
        let stream = format!("BT /F1 24 Tf 72 720 Td ({line}) Tj ET");
        let objects = [
            "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_owned(),
            format!("<< /Length {} >>\nstream\n{stream}\nendstream", stream.len()),
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
        ];
        let mut out = b"%PDF-1.4\n".to_vec();
        let mut offsets = Vec::new();
        for (index, object) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", index + 1).as_bytes());
        }
        let xref = out.len();
        out.extend_from_slice(
            format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
        );
        for offset in offsets {
            out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!(
                "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
                objects.len() + 1
            )
            .as_bytes(),
        );
        out
    }
}
