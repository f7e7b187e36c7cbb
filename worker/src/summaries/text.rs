//! Text as the summarisers need it: sentences, a token estimate, chunks within a token budget,
//! and the built-in extractive summary (the document's own sentences, ranked).

use std::collections::{BTreeMap, HashSet};

/// Tokens in `text`, estimated: about four characters make a token in English for the
/// tokenisers of current models, and a word is at least one. Deliberately on the high side, so
/// a chunk never exceeds a model's window by surprise.
pub fn estimate_tokens(text: &str) -> usize {
    let words = text.split_whitespace().count();
    (text.chars().count().div_ceil(4)).max(words)
}

/// The sentences of `text`: split after `.`, `!` or `?` (with closing quotes or brackets) that
/// is followed by white space, and at paragraph breaks.
pub fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for paragraph in text.split("\n\n") {
        let mut start = 0;
        let chars: Vec<(usize, char)> = paragraph.char_indices().collect();
        for (i, &(_, c)) in chars.iter().enumerate() {
            if !matches!(c, '.' | '!' | '?') {
                continue;
            }
            // Closing quotes and brackets belong to the sentence.
            let mut end = i + 1;
            while end < chars.len() && matches!(chars[end].1, '"' | '\'' | ')' | '”' | '’' | '»')
            {
                end += 1;
            }
            let followed_by_space = chars.get(end).is_some_and(|(_, next)| next.is_whitespace());
            if !followed_by_space {
                continue;
            }
            let end_byte = chars.get(end).map_or(paragraph.len(), |(byte, _)| *byte);
            let sentence = paragraph[start..end_byte].trim();
            if !sentence.is_empty() {
                out.push(sentence);
            }
            start = end_byte;
        }
        let rest = paragraph[start..].trim();
        if !rest.is_empty() {
            out.push(rest);
        }
    }
    out
}

/// `text` cut into chunks of at most `budget` estimated tokens, at sentence boundaries (a
/// sentence longer than the budget is cut at word boundaries), at most `max_chunks` of them:
/// the rest of a longer document is not read. Answers the chunks and whether any text was
/// left out.
pub fn chunks(text: &str, budget: usize, max_chunks: usize) -> (Vec<String>, bool) {
    let budget = budget.max(1);
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut pieces = sentences(text)
        .into_iter()
        .flat_map(|sentence| split_long(sentence, budget));
    for piece in pieces.by_ref() {
        if !current.is_empty() && estimate_tokens(&current) + estimate_tokens(&piece) + 1 > budget {
            out.push(std::mem::take(&mut current));
            if out.len() == max_chunks {
                return (out, true);
            }
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(&piece);
    }
    if !current.is_empty() {
        if out.len() == max_chunks {
            return (out, true);
        }
        out.push(current);
    }
    (out, false)
}

/// A sentence within `budget` tokens, whole, or cut at word boundaries into pieces that are.
fn split_long(sentence: &str, budget: usize) -> Vec<String> {
    if estimate_tokens(sentence) <= budget {
        return vec![sentence.to_owned()];
    }
    let mut pieces = Vec::new();
    let mut current = String::new();
    for word in sentence.split_whitespace() {
        // A single word longer than the budget is cut by characters.
        let mut word = word.to_owned();
        while estimate_tokens(&word) > budget {
            let cut: String = word.chars().take(budget * 4).collect();
            word = word.chars().skip(budget * 4).collect();
            if !current.is_empty() {
                pieces.push(std::mem::take(&mut current));
            }
            pieces.push(cut);
        }
        if !current.is_empty() && estimate_tokens(&current) + estimate_tokens(&word) + 1 > budget {
            pieces.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(&word);
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

/// Words that say nothing about what a text is about.
const STOP_WORDS: &[&str] = &[
    "a", "about", "after", "all", "also", "an", "and", "any", "are", "as", "at", "be", "been",
    "but", "by", "can", "could", "did", "do", "does", "for", "from", "had", "has", "have", "he",
    "her", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "me", "more", "my",
    "no", "not", "of", "on", "one", "or", "our", "out", "she", "so", "some", "than", "that", "the",
    "their", "them", "then", "there", "these", "they", "this", "to", "up", "upon", "us", "was",
    "we", "were", "what", "when", "which", "who", "will", "with", "would", "you", "your",
];

fn words(sentence: &str) -> impl Iterator<Item = String> + '_ {
    sentence
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .map(|word| word.trim_matches('\'').to_lowercase())
        .filter(|word| word.chars().count() > 1)
}

/// The built-in summary: the sentences of `text` that best carry its most frequent words (each
/// sentence scored by the mean document frequency of its content words, with a small bonus for
/// the opening sentences), up to `max_chars` characters, in the order the document has them.
/// Deterministic: the same text always gives the same summary.
pub fn extractive_summary(text: &str, max_chars: usize) -> String {
    let stop: HashSet<&str> = STOP_WORDS.iter().copied().collect();
    let candidates: Vec<&str> = sentences(text)
        .into_iter()
        .filter(|sentence| {
            let count = sentence.split_whitespace().count();
            (4..=80).contains(&count)
        })
        .collect();
    let candidates = if candidates.is_empty() {
        sentences(text)
    } else {
        candidates
    };
    let mut frequency: BTreeMap<String, usize> = BTreeMap::new();
    for sentence in &candidates {
        for word in words(sentence).filter(|word| !stop.contains(word.as_str())) {
            *frequency.entry(word).or_default() += 1;
        }
    }
    let total = candidates.len().max(1) as f64;
    let mut scored: Vec<(f64, usize)> = candidates
        .iter()
        .enumerate()
        .map(|(index, sentence)| {
            let content: Vec<String> = words(sentence)
                .filter(|w| !stop.contains(w.as_str()))
                .collect();
            let weight: usize = content
                .iter()
                .map(|word| frequency.get(word).copied().unwrap_or(0))
                .sum();
            let mean = if content.is_empty() {
                0.0
            } else {
                weight as f64 / content.len() as f64
            };
            // The opening of a text tends to say what it is about.
            let position_bonus = 1.0 + 0.5 * (1.0 - index as f64 / total);
            (mean * position_bonus, index)
        })
        .collect();
    // Highest score first; ties keep document order, so the result never depends on sorting.
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut chosen = Vec::new();
    let mut length = 0;
    for (_, index) in scored {
        let sentence = candidates[index];
        let added = sentence.chars().count() + usize::from(!chosen.is_empty());
        if length + added > max_chars {
            if chosen.is_empty() {
                // Even the best sentence is too long: its start, cut at a word.
                return truncate_words(sentence, max_chars);
            }
            continue;
        }
        length += added;
        chosen.push(index);
        if chosen.len() >= 5 {
            break;
        }
    }
    chosen.sort_unstable();
    chosen
        .into_iter()
        .map(|index| candidates[index])
        .collect::<Vec<_>>()
        .join(" ")
}

/// At most `max_chars` characters of `text`, cut at a word boundary, with an ellipsis when cut.
pub fn truncate_words(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let mut out = String::new();
    for word in text.split_whitespace() {
        if out.chars().count() + word.chars().count() + 2 > max_chars {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const PASSAGE: &str = "The Time Traveller was expounding a recondite matter to us. His grey eyes shone and twinkled. \
        You must follow me carefully, he said. I shall have to controvert one or two ideas that are almost universally accepted. \
        The geometry they taught you at school is founded on a misconception.\n\n\
        Clearly any real body must have extension in four directions: it must have length, breadth, thickness, and duration. \
        Time is only a kind of space. The Time Traveller smiled. There is no difference between time and any of the three dimensions of space.";

    #[test]
    fn sentences_split_at_ends_and_paragraphs() {
        let found =
            sentences("He said \"Go.\" She went! Why? Dr. Who\n\nNew paragraph without end");
        assert_eq!(
            found,
            [
                "He said \"Go.\"",
                "She went!",
                "Why?",
                "Dr.",
                "Who",
                "New paragraph without end"
            ]
        );
    }

    #[test]
    fn chunks_keep_sentences_whole_within_the_budget_and_stop_at_the_cap() {
        let text = "One two three four five six seven. ".repeat(40);
        let (all, cut) = chunks(&text, 30, 100);
        assert!(!cut);
        assert!(
            all.iter().all(|chunk| estimate_tokens(chunk) <= 30),
            "{all:?}"
        );
        assert!(all.iter().all(|chunk| chunk.ends_with('.')));
        assert_eq!(all.join(" "), text.trim());
        let (capped, cut) = chunks(&text, 30, 3);
        assert_eq!(capped.len(), 3);
        assert!(cut);
        // A sentence longer than the budget is cut between words.
        let long = "word ".repeat(500);
        let (pieces, _) = chunks(&long, 50, 100);
        assert!(pieces.len() > 1 && pieces.iter().all(|piece| estimate_tokens(piece) <= 50));
    }

    #[test]
    fn the_extractive_summary_is_sentences_of_the_text_and_deterministic() {
        let summary = extractive_summary(PASSAGE, 400);
        assert!(!summary.is_empty());
        assert!(summary.chars().count() <= 400);
        let known = sentences(PASSAGE);
        let mut rest = summary.as_str();
        // Every sentence of the summary is a sentence of the passage, in the passage's order.
        let mut last = 0;
        for sentence in sentences(&summary) {
            let index = known
                .iter()
                .position(|k| *k == sentence)
                .unwrap_or_else(|| panic!("{sentence:?} is not in the text"));
            assert!(index >= last);
            last = index;
            rest = rest.trim_start().strip_prefix(sentence).unwrap();
        }
        assert!(rest.trim().is_empty());
        // The recurring subject wins.
        assert!(summary.contains("Time Traveller"), "{summary}");
        assert_eq!(extractive_summary(PASSAGE, 400), summary);
    }

    #[test]
    fn a_summary_of_one_long_sentence_is_cut_at_a_word() {
        let long = "word ".repeat(200);
        let summary = extractive_summary(&long, 50);
        assert!(
            summary.chars().count() <= 50 && summary.ends_with('…'),
            "{summary}"
        );
    }
}
