//! Text work shared by the publishers: Markdown to plain text, sentences, counting
//! the way Mastodon counts, and fitting a summary into a limit. Pure.

use pulldown_cmark::{Event, Parser, Tag, TagEnd};
use unicode_segmentation::UnicodeSegmentation;

/// How many characters Mastodon charges for any URL with a scheme
/// (`characters_reserved_per_url`).
pub const URL_WEIGHT: usize = 23;

/// The paragraphs of a Markdown body as plain text: no markup, links as their text,
/// no HTML, no headings or images, white space collapsed.
pub fn plain_paragraphs(markdown: &str) -> Vec<String> {
    let mut paragraphs = Vec::new();
    let mut current = String::new();
    // Depth of elements whose text is left out (headings, images, code blocks, HTML).
    let mut hidden = 0usize;
    for event in Parser::new(markdown) {
        match event {
            Event::Start(
                Tag::Heading { .. } | Tag::Image { .. } | Tag::CodeBlock(_) | Tag::HtmlBlock,
            ) => hidden += 1,
            Event::End(
                TagEnd::Heading(_) | TagEnd::Image | TagEnd::CodeBlock | TagEnd::HtmlBlock,
            ) => hidden = hidden.saturating_sub(1),
            Event::Text(t) | Event::Code(t) if hidden == 0 => current.push_str(&t),
            Event::SoftBreak | Event::HardBreak if hidden == 0 => current.push(' '),
            Event::End(TagEnd::Paragraph | TagEnd::Item | TagEnd::BlockQuote(_)) => {
                let text = collapse_whitespace(&current);
                if !text.is_empty() {
                    paragraphs.push(text);
                }
                current.clear();
            }
            _ => {}
        }
    }
    let text = collapse_whitespace(&current);
    if !text.is_empty() {
        paragraphs.push(text);
    }
    paragraphs
}

/// Collapses runs of white space into one space and trims the ends.
pub fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Byte offsets just after each sentence end in `text` (a `.`, `!`, `?` or `…`,
/// with any closing quotes or brackets, followed by white space or the end).
/// Initials ("J. F. Kennedy") and common abbreviations do not end a sentence.
pub fn sentence_ends(text: &str) -> Vec<usize> {
    const ABBREVIATIONS: [&str; 14] = [
        "mr", "mrs", "ms", "dr", "st", "jr", "sr", "vs", "etc", "e.g", "i.e", "no", "gen", "lt",
    ];
    let mut ends = Vec::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (_, c) = chars[i];
        if matches!(c, '.' | '!' | '?' | '…') {
            let mut j = i + 1;
            while j < chars.len() && matches!(chars[j].1, '"' | '\'' | '’' | '”' | ')' | ']' | '»')
            {
                j += 1;
            }
            let at_end = j == chars.len();
            let next_is_space = !at_end && chars[j].1.is_whitespace();
            if at_end || next_is_space {
                let word_start = text[..chars[i].0]
                    .rfind(|c: char| c.is_whitespace() || c == '(')
                    .map_or(0, |p| p + 1);
                let word = text[word_start..chars[i].0]
                    .trim_start_matches(['"', '\'', '“', '‘', '(', '[', '«']);
                let is_initial =
                    c == '.' && word.chars().count() == 1 && word.chars().all(char::is_uppercase);
                let is_abbreviation =
                    c == '.' && ABBREVIATIONS.contains(&word.to_lowercase().as_str());
                let next_word_lower = text[chars.get(j).map_or(text.len(), |x| x.0)..]
                    .trim_start()
                    .chars()
                    .next()
                    .is_some_and(char::is_lowercase);
                if !is_initial && !is_abbreviation && !next_word_lower {
                    let end = chars.get(j).map_or(text.len(), |x| x.0);
                    ends.push(end);
                }
            }
            i = j;
        } else {
            i += 1;
        }
    }
    ends
}

/// Counts `text` the way Mastodon's `StatusLengthValidator` does: grapheme clusters,
/// every URL with a scheme as [`URL_WEIGHT`], and `@user@domain` as `@user`.
pub fn mastodon_length(text: &str) -> usize {
    let mut total = 0;
    let mut rest = text;
    while !rest.is_empty() {
        match next_special(rest) {
            None => {
                total += rest.graphemes(true).count();
                break;
            }
            Some(special) => {
                total += rest[..special.start].graphemes(true).count() + special.weight;
                rest = &rest[special.end..];
            }
        }
    }
    total
}

/// The byte ranges of the URLs with a scheme in `text`, as Mastodon and Bluesky
/// clients find them (trailing punctuation left out).
pub fn url_ranges(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut offset = 0;
    while let Some(special) = next_special(&text[offset..]) {
        if special.is_url {
            out.push((offset + special.start, offset + special.end));
        }
        offset += special.end;
    }
    out
}

/// A URL or a remote mention: its byte range and what Mastodon counts it as.
struct Special {
    start: usize,
    end: usize,
    weight: usize,
    is_url: bool,
}

/// The next URL or remote mention in `text`.
fn next_special(text: &str) -> Option<Special> {
    let boundary = |i: usize| {
        text[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric() && c != '_' && c != '@' && c != '/')
    };
    let lower = text.to_ascii_lowercase();
    let mut best: Option<Special> = None;
    for scheme in ["https://", "http://"] {
        let mut from = 0;
        while let Some(p) = lower[from..].find(scheme) {
            let start = from + p;
            from = start + scheme.len();
            if !boundary(start) {
                continue;
            }
            let tail = &text[start + scheme.len()..];
            let len = tail.find(char::is_whitespace).unwrap_or(tail.len());
            // Trailing punctuation belongs to the sentence, not to the URL.
            let trimmed = tail[..len]
                .trim_end_matches(['.', ',', ':', ';', '!', '?', '\'', '"', ')', ']', '…']);
            if trimmed.is_empty() {
                continue;
            }
            let end = start + scheme.len() + trimmed.len();
            if best.as_ref().is_none_or(|b| start < b.start) {
                best = Some(Special {
                    start,
                    end,
                    weight: URL_WEIGHT,
                    is_url: true,
                });
            }
            break;
        }
    }
    // `@user@domain` counts as `@user`.
    let mut from = 0;
    while let Some(p) = text[from..].find('@') {
        let start = from + p;
        from = start + 1;
        if best.as_ref().is_some_and(|b| start >= b.start) {
            break;
        }
        if !boundary(start) {
            continue;
        }
        let user_len = text[start + 1..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(text.len() - start - 1);
        let at = start + 1 + user_len;
        if user_len == 0 || !text[at..].starts_with('@') {
            continue;
        }
        let domain_len = text[at + 1..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
            .unwrap_or(text.len() - at - 1);
        let domain = text[at + 1..at + 1 + domain_len].trim_end_matches(['.', '-']);
        if domain.contains('.') {
            best = Some(Special {
                start,
                end: at + 1 + domain.len(),
                weight: 1 + user_len,
                is_url: false,
            });
            break;
        }
    }
    best
}

/// The longest cut of `summary` whose measure fits in `limit`: the most whole
/// sentences, else the most whole words followed by `…`, else nothing (empty).
/// `measure` gives the length of the whole message around a candidate summary;
/// it must not decrease as the summary grows.
pub fn fit_summary(summary: &str, limit: usize, measure: impl Fn(&str) -> usize) -> String {
    if measure(summary) <= limit {
        return summary.to_string();
    }
    // Candidates are byte offsets only (never copies of prefixes), and a binary
    // search measures O(log n) of them: time O(n log n) and memory O(n) however
    // long the paragraph. A cut never leaves a quotation open.
    let open = quotation_mask(summary);
    let outside = |end: usize| !open.get(end).copied().unwrap_or(false);
    let sentences: Vec<usize> = sentence_ends(summary)
        .into_iter()
        .filter(|&e| outside(e))
        .collect();
    let sentence = |&e: &usize| summary[..e].trim_end().to_string();
    if let Some(best) = longest_fitting(&sentences, |e| measure(&sentence(e)) <= limit) {
        return sentence(best);
    }
    let mut word_ends = Vec::new();
    let mut in_word = false;
    for (i, c) in summary.char_indices() {
        if c.is_whitespace() {
            if in_word && outside(i) {
                word_ends.push(i);
            }
            in_word = false;
        } else {
            in_word = true;
        }
    }
    let cut = |&end: &usize| {
        let cut = summary[..end].trim_end_matches([',', ';', ':', '-', '–', '—', '(']);
        if cut.trim().is_empty() {
            String::new()
        } else {
            format!("{cut}…")
        }
    };
    let words: Vec<usize> = word_ends
        .into_iter()
        .filter(|e| !cut(e).is_empty())
        .collect();
    longest_fitting(&words, |e| measure(&cut(e)) <= limit)
        .map(cut)
        .unwrap_or_default()
}

/// For each byte offset of `text` (and one past its end), whether it lies inside a
/// quotation: after an opening `“` or `"` that is not yet closed. A cut there
/// would leave the quotation open.
fn quotation_mask(text: &str) -> Vec<bool> {
    let mut mask = vec![false; text.len() + 1];
    let mut open = false;
    let mut previous = ' ';
    for (i, c) in text.char_indices() {
        let before = open;
        match c {
            '“' => open = true,
            '”' => open = false,
            // A straight quote opens after a space or an opening bracket, else closes.
            '"' => open = !open && (previous.is_whitespace() || "([{—–".contains(previous)),
            _ => {}
        }
        // The quote mark itself belongs with what it opens or closes.
        let state = if c == '”' || (c == '"' && !open) {
            before
        } else {
            open
        };
        for slot in mask.iter_mut().skip(i).take(c.len_utf8()) {
            *slot = state;
        }
        previous = c;
    }
    mask[text.len()] = open;
    mask
}

/// One line of a line diff: kept (` `), removed (`-`) or added (`+`).
pub type DiffLine<'a> = (char, &'a str);

/// A line diff of `old` and `new` (longest common subsequence; posts are short).
pub fn line_diff<'a>(old: &'a str, new: &'a str) -> Vec<DiffLine<'a>> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push((' ', a[i]));
            (i, j) = (i + 1, j + 1);
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] > lcs[i + 1][j]) {
            out.push(('+', b[j]));
            j += 1;
        } else {
            out.push(('-', a[i]));
            i += 1;
        }
    }
    out
}

/// Binary search for the last item of `items` that `fits` (fit is monotone: a prefix
/// of items fits, the rest do not).
fn longest_fitting<T>(items: &[T], fits: impl FnMut(&T) -> bool) -> Option<&T> {
    let n = items.partition_point(fits);
    n.checked_sub(1).map(|i| &items[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_becomes_plain_paragraphs() {
        let md = "# Heading\n\nHe spoke **for hours** about [Stalin](https://x.example/s).\nThen <b>left</b>.\n\n![a picture](k.jpg)\n\n- one\n- two &amp; three\n\n<script>alert(1)</script>\n";
        assert_eq!(
            plain_paragraphs(md),
            [
                "He spoke for hours about Stalin. Then left.",
                "one",
                "two & three"
            ]
        );
    }

    #[test]
    fn sentences_end_at_stops_not_initials() {
        let text =
            "J. F. Kennedy spoke. \"Mr. Smith left! Was it over? \"Yes.\" Then e.g. not this";
        let ends: Vec<&str> = sentence_ends(text)
            .into_iter()
            .map(|e| &text[..e])
            .collect();
        assert_eq!(
            ends,
            [
                "J. F. Kennedy spoke.",
                "J. F. Kennedy spoke. \"Mr. Smith left!",
                "J. F. Kennedy spoke. \"Mr. Smith left! Was it over?",
                "J. F. Kennedy spoke. \"Mr. Smith left! Was it over? \"Yes.\"",
            ]
        );
    }

    #[test]
    fn counts_like_mastodon() {
        assert_eq!(mastodon_length("hello"), 5);
        assert_eq!(mastodon_length("👍🏽 é"), 3);
        assert_eq!(
            mastodon_length("see https://todayis.example/2024/02/a-very-long-address.html now"),
            4 + 23 + 4
        );
        assert_eq!(mastodon_length("(https://a.example/x)."), 1 + 23 + 2);
        assert_eq!(mastodon_length("hi @alice@mastodon.social!"), 3 + 6 + 1);
        assert_eq!(mastodon_length("mail me: bob@example.com"), 24);
        assert_eq!(mastodon_length("bare example.com"), 16);
    }

    #[test]
    fn fits_at_sentences_then_words() {
        let s = "First sentence here. Second one is longer than that.";
        let measure = |x: &str| x.chars().count();
        assert_eq!(fit_summary(s, 100, measure), s);
        assert_eq!(fit_summary(s, 30, measure), "First sentence here.");
        assert_eq!(fit_summary(s, 12, measure), "First…");
        assert_eq!(fit_summary(s, 3, measure), "");
        assert_eq!(fit_summary("Alpha, beta gamma", 7, measure), "Alpha…");
    }

    #[test]
    fn line_diffs_keep_what_is_common() {
        let d = line_diff("a\nb\nc", "a\nB\nc\nd");
        assert_eq!(
            d,
            vec![(' ', "a"), ('-', "b"), ('+', "B"), (' ', "c"), ('+', "d")]
        );
    }

    #[test]
    fn a_cut_never_leaves_a_quotation_open() {
        let measure = |x: &str| x.chars().count();
        let s =
            "Bell spoke the first words: “Mr. Watson, come here. I want to see you.” Watson came.";
        for limit in 10..s.chars().count() {
            let fitted = fit_summary(s, limit, measure);
            let opens = fitted.matches('“').count();
            let closes = fitted.matches('”').count();
            assert_eq!(opens, closes, "limit {limit}: {fitted}");
        }
        assert_eq!(fit_summary(s, 60, measure), "Bell spoke the first words…");
        let straight = "He said \"one two three four\" and left the room at once.";
        for limit in 5..straight.len() {
            let fitted = fit_summary(straight, limit, measure);
            assert_eq!(
                fitted.matches('"').count() % 2,
                0,
                "limit {limit}: {fitted}"
            );
        }
    }

    #[test]
    fn a_huge_paragraph_is_fitted_in_bounded_work() {
        // 200 KB, one sentence: each measure is linear, and only O(log n) run.
        let s = "word ".repeat(40_000);
        let calls = std::cell::Cell::new(0);
        let fitted = fit_summary(&s, 100, |x: &str| {
            calls.set(calls.get() + 1);
            x.chars().count()
        });
        assert!(fitted.chars().count() <= 100 && fitted.ends_with('…'));
        assert!(calls.get() < 64, "{} measures", calls.get());
    }
}
