//! `todayis import blogger`: a Blogger export (either format) or feed (Atom or RSS)
//! into post files. Parsing and converting are pure; fetching and writing live in
//! `commands.rs`.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate};
use quick_xml::events::Event;

use crate::position::Position;

/// A small XML tree: enough for feeds, and simple to walk.
#[derive(Debug, Default, Clone)]
pub struct Element {
    /// The local name (no namespace prefix).
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    fn child_text(&self, name: &str) -> Option<String> {
        self.child(name)
            .map(|c| c.text.trim().to_string())
            .filter(|t| !t.is_empty())
    }
}

fn local(name: &str) -> String {
    name.rsplit(':').next().unwrap_or_default().to_string()
}

/// The deepest nesting read: a blog export is a handful of levels deep, and the
/// tree must stay shallow enough to drop without exhausting the stack.
const MAX_DEPTH: usize = 128;

/// Parses XML into a tree; errors name the line and column.
pub fn parse_xml(text: &str) -> Result<Element, String> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut stack: Vec<Element> = vec![Element::default()];
    let at =
        |reader: &quick_xml::Reader<&[u8]>| Position::of(text, reader.error_position() as usize);
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("{}: not well-formed XML: {e}", at(&reader)))?;
        match event {
            Event::Start(e) => {
                if stack.len() > MAX_DEPTH {
                    return Err(format!(
                        "{}: elements nested more than {MAX_DEPTH} deep: not a blog export",
                        at(&reader)
                    ));
                }
                stack.push(element(&e).map_err(|m| format!("{}: {m}", at(&reader)))?)
            }
            Event::Empty(e) => {
                let el = element(&e).map_err(|m| format!("{}: {m}", at(&reader)))?;
                if let Some(top) = stack.last_mut() {
                    top.children.push(el);
                }
            }
            Event::End(_) => {
                let unbalanced = || {
                    format!(
                        "{}: not well-formed XML: a closing tag with no opening one",
                        at(&reader)
                    )
                };
                let done = stack.pop().ok_or_else(unbalanced)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => return Err(unbalanced()),
                }
            }
            Event::Text(t) => push_text(&mut stack, &t.xml10_content()),
            Event::CData(t) => push_text(&mut stack, &t),
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => match quick_xml::escape::resolve_predefined_entity(&r) {
                        Some(s) => s.to_string(),
                        None => format!("&{};", &*r),
                    },
                };
                push_text(&mut stack, &resolved);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if stack.len() != 1 {
        return Err(format!(
            "{}: the document ends before <{}> is closed (truncated?)",
            Position::of(text, text.len()),
            stack.last().map_or("", |e| e.name.as_str())
        ));
    }
    let mut document = stack.pop().unwrap_or_default();
    document
        .children
        .pop()
        .ok_or_else(|| "1:1: not XML: there is no element in it".to_string())
}

fn element(e: &quick_xml::events::BytesStart) -> Result<Element, String> {
    let mut el = Element {
        name: local(e.name().as_ref()),
        ..Default::default()
    };
    for attr in e.attributes().flatten() {
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| format!("not well-formed XML: a bad attribute: {e}"))?;
        el.attrs
            .push((local(attr.key.as_ref()), value.into_owned()));
    }
    Ok(el)
}

fn push_text(stack: &mut [Element], text: &str) {
    if let Some(top) = stack.last_mut() {
        top.text.push_str(text);
    }
}

/// What an entry is, as far as importing goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Post,
    /// Not imported; the reason names what it is (comment, page, draft, ...).
    Skip(String),
}

/// One entry of a feed or export, before conversion.
#[derive(Debug, Clone)]
pub struct Entry {
    pub kind: Kind,
    pub title: String,
    pub html: String,
    pub published: Option<String>,
    pub url: Option<String>,
    pub labels: Vec<String>,
}

/// The entries of a Blogger export (GData or current format), an Atom feed or an RSS feed.
pub fn entries(root: &Element, blog_url: Option<&str>) -> Result<Vec<Entry>, String> {
    match root.name.as_str() {
        "feed" => Ok(root
            .children("entry")
            .map(|e| atom_entry(e, blog_url))
            .collect()),
        "rss" => {
            let channel = root
                .child("channel")
                .ok_or("an RSS document without a <channel>")?;
            Ok(channel.children("item").map(rss_item).collect())
        }
        other => Err(format!(
            "not a Blogger export or feed: the document is <{other}>, not an Atom <feed> or an <rss>"
        )),
    }
}

const KIND_SCHEME: &str = "http://schemas.google.com/g/2005#kind";

fn atom_entry(e: &Element, blog_url: Option<&str>) -> Entry {
    let mut kind = Kind::Post;
    let mut labels = Vec::new();
    for c in e.children("category") {
        let term = c.attr("term").unwrap_or_default();
        if c.attr("scheme") == Some(KIND_SCHEME) {
            let what = term.rsplit('#').next().unwrap_or(term);
            if what != "post" {
                kind = Kind::Skip(what.to_string());
            }
        } else if !term.is_empty() {
            labels.push(term.to_string());
        }
    }
    // The current export format says it in elements of its own.
    if let Some(t) = e.child_text("type")
        && !t.eq_ignore_ascii_case("post")
    {
        kind = Kind::Skip(t.to_lowercase());
    }
    if kind == Kind::Post {
        if let Some(status) = e
            .child_text("status")
            .filter(|s| !s.eq_ignore_ascii_case("live"))
        {
            kind = Kind::Skip(status.to_lowercase());
        }
        let draft = e
            .child("control")
            .and_then(|c| c.child_text("draft"))
            .is_some_and(|d| d == "yes");
        if draft {
            kind = Kind::Skip("draft".into());
        }
    }
    let url = e
        .children("link")
        .find(|l| {
            l.attr("rel") == Some("alternate") && l.attr("type").is_none_or(|t| t == "text/html")
        })
        .and_then(|l| l.attr("href"))
        .map(str::to_string)
        .or_else(|| {
            let file = e.child_text("filename")?;
            Some(format!(
                "{}/{}",
                blog_url?.trim_end_matches('/'),
                file.trim_start_matches('/')
            ))
        });
    Entry {
        kind,
        title: e.child_text("title").unwrap_or_default(),
        html: e
            .child("content")
            .map(|c| c.text.clone())
            .unwrap_or_default(),
        published: e.child_text("published"),
        url,
        labels,
    }
}

fn rss_item(e: &Element) -> Entry {
    Entry {
        kind: Kind::Post,
        title: e.child_text("title").unwrap_or_default(),
        html: e
            .child("encoded")
            .or_else(|| e.child("description"))
            .map(|c| c.text.clone())
            .unwrap_or_default(),
        published: e.child_text("pubDate"),
        url: e.child_text("link"),
        labels: e
            .children("category")
            .map(|c| c.text.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect(),
    }
}

/// A post ready to be written.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// `MM/MM-DD-slug.md`, relative to the output folder.
    pub file: String,
    pub text: String,
    /// Why an editor should look at it, if they should.
    pub review: Option<String>,
}

/// Converts a post entry; an error says why it cannot be imported.
pub fn convert(entry: &Entry) -> Result<Imported, String> {
    let published = entry.published.as_deref().ok_or("no publication date")?;
    let published: DateTime<FixedOffset> = DateTime::parse_from_rfc3339(published)
        .or_else(|_| DateTime::parse_from_rfc2822(published))
        .map_err(|_| format!("the publication date `{published}` is not RFC 3339 or RFC 822"))?;
    // The offset is the blog's time zone: its local date is the anniversary.
    let day = published.date_naive();
    let url = entry
        .url
        .clone()
        .ok_or("no address: for an export with only file names, pass --blog-url")?;
    url::Url::parse(&url).map_err(|_| format!("the address `{url}` is not a URL"))?;
    let title = strip_prefix(&entry.title);
    if title.is_empty() {
        return Err("no title".into());
    }
    let body = html_to_markdown(&entry.html);
    let plain = crate::text::plain_paragraphs(&body).join(" ");

    let mut review = None;
    let year = match event_year(&plain, day.year()) {
        Some(y) => y,
        None => {
            review = Some(format!(
                "no event year found in the text: the date uses the publication year {}",
                day.year()
            ));
            day.year()
        }
    };
    let date = NaiveDate::from_ymd_opt(year, day.month(), day.day()).unwrap_or_else(|| {
        review = Some(format!(
            "{year} has no {}: the date uses the publication year",
            day.format("%d %B")
        ));
        day
    });
    let slug = slug_of(&url, &title);
    let file = format!(
        "{:02}/{:02}-{:02}-{slug}.md",
        day.month(),
        day.month(),
        day.day()
    );

    let mut tags: Vec<String> = Vec::new();
    for label in &entry.labels {
        if !tags.iter().any(|t| t.eq_ignore_ascii_case(label)) {
            tags.push(label.clone());
        }
    }
    let quote = |s: &str| toml::Value::String(s.to_string()).to_string();
    let mut text = format!(
        "+++\ntitle = {}\ndate = {date}\nurl = {}\n",
        quote(&title),
        quote(&url)
    );
    if !tags.is_empty() {
        let list: Vec<String> = tags.iter().map(|t| quote(t)).collect();
        text.push_str(&format!("tags = [{}]\n", list.join(", ")));
    }
    text.push_str("+++\n");
    text.push_str(&body);
    text.push('\n');
    Ok(Imported { file, text, review })
}

/// What an import will do, decided before a byte is written: which files to write,
/// which existing ones to keep, what to review, what was skipped. Pure: whether a
/// file exists already is asked of `exists`, so it is tested without a disk.
#[derive(Debug, Default)]
pub struct Plan {
    /// Files to write (path relative to the output folder, contents).
    pub writes: Vec<(String, String)>,
    /// Files that exist and are kept (no `--overwrite`).
    pub kept: Vec<String>,
    /// Written files to look at, with why.
    pub review: Vec<(String, String)>,
    /// Entries that could not be imported, named, with why.
    pub broken: Vec<String>,
    /// Entries skipped on purpose, counted by kind (comment, page, draft, broken).
    pub skipped: std::collections::BTreeMap<String, usize>,
}

pub fn plan(entries: &[Entry], overwrite: bool, exists: impl Fn(&str) -> bool) -> Plan {
    let mut plan = Plan::default();
    let mut taken = std::collections::BTreeSet::new();
    for (n, entry) in entries.iter().enumerate() {
        if let Kind::Skip(why) = &entry.kind {
            *plan.skipped.entry(why.clone()).or_default() += 1;
            continue;
        }
        let post = match convert(entry) {
            Ok(p) => p,
            Err(e) => {
                let name = if entry.title.is_empty() {
                    format!("entry {}", n + 1)
                } else {
                    format!("\"{}\"", entry.title)
                };
                plan.broken.push(format!("{name}: {e}"));
                *plan.skipped.entry("broken".into()).or_default() += 1;
                continue;
            }
        };
        // Two posts with one name on one day: the second gets a number.
        let mut file = post.file.clone();
        let mut i = 2;
        while !taken.insert(file.clone()) {
            file = post.file.replace(".md", &format!("-{i}.md"));
            i += 1;
        }
        if exists(&file) && !overwrite {
            plan.kept.push(file);
            continue;
        }
        if let Some(why) = post.review {
            plan.review.push((file.clone(), why));
        }
        plan.writes.push((file, post.text));
    }
    plan
}

/// "Today Is...Nikita Khrushchev" -> "Nikita Khrushchev".
fn strip_prefix(title: &str) -> String {
    let t = title.trim();
    let lower = t.to_lowercase();
    for prefix in ["today is...", "today is…", "today is ...", "today is"] {
        if lower.starts_with(prefix) {
            let rest = &t[prefix.len()..];
            return rest
                .trim_start_matches([' ', '-', ':', '–', '—', '.', '…'])
                .trim()
                .to_string();
        }
    }
    t.to_string()
}

/// The event's year: "today in 1956", "on this day in 1956", else the year nearest
/// to "today", else the first year mentioned. Years after `latest` are ignored.
pub fn event_year(text: &str, latest: i32) -> Option<i32> {
    let lower = text.to_lowercase();
    let years: Vec<(usize, i32)> = four_digit_numbers(&lower)
        .into_iter()
        .filter(|&(_, y)| (100..=latest).contains(&y))
        .collect();
    for phrase in ["today in ", "this day in ", "on this date in "] {
        if let Some(&(_, y)) = years.iter().find(|(at, _)| lower[..*at].ends_with(phrase)) {
            return Some(y);
        }
    }
    let todays: Vec<usize> = lower.match_indices("today").map(|(i, _)| i).collect();
    if !todays.is_empty() {
        let nearest = years.iter().min_by_key(|(at, _)| {
            todays
                .iter()
                .map(|t| t.abs_diff(*at))
                .min()
                .unwrap_or(usize::MAX)
        });
        if let Some(&(_, y)) = nearest {
            return Some(y);
        }
    }
    years.first().map(|&(_, y)| y)
}

fn four_digit_numbers(text: &str) -> Vec<(usize, i32)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i - start == 4
                && let Ok(y) = text[start..i].parse()
            {
                out.push((start, y));
            }
        } else {
            i += 1;
        }
    }
    out
}

/// The post's own name from its address (`.../khrushchev-denounces.html`), else the title's.
fn slug_of(url: &str, title: &str) -> String {
    let from_url = url::Url::parse(url).ok().and_then(|u| {
        let last = u
            .path_segments()?
            .rev()
            .find(|s| !s.is_empty())?
            .to_string();
        Some(
            last.trim_end_matches(".html")
                .trim_end_matches(".htm")
                .to_string(),
        )
    });
    let raw = from_url
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| title.to_string());
    let mut slug = String::new();
    for c in raw.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        "post".into()
    } else {
        slug.chars().take(80).collect()
    }
}

/// Blogger's HTML as clean Markdown: no scripts, styles, forms or share buttons.
pub fn html_to_markdown(html: &str) -> String {
    let converter = htmd::HtmlToMarkdown::builder()
        .skip_tags(vec![
            "script", "style", "noscript", "iframe", "form", "button", "object", "embed", "head",
        ])
        // Share buttons and footers are Blogger's, not the post's.
        .add_handler(
            vec!["div", "span", "a"],
            |handlers: &dyn htmd::element_handler::Handlers, element: htmd::Element| {
                let chrome = element.attrs.iter().any(|a| {
                    &*a.name.local == "class"
                        && ["share", "post-footer", "blog-pager", "comment"]
                            .iter()
                            .any(|c| a.value.contains(c))
                });
                if chrome {
                    Some(String::new().into())
                } else {
                    handlers.fallback(element)
                }
            },
        )
        .build();
    let markdown = converter.convert(html).unwrap_or_default();
    // Chrome that Blogger leaves in bodies and in pages saved from the blog.
    let chrome = |line: &str| {
        let l = line.trim().trim_matches(['*', '_']).trim().to_lowercase();
        l == "no comments:"
            || l.starts_with("email thisblogthis!")
            || l == "share"
            || l == "labels:"
            || l.starts_with("posted by ")
            || (l.starts_with("share to ") && l.len() < 40)
    };
    let kept: Vec<&str> = markdown.lines().filter(|l| !chrome(l)).collect();
    let mut out = kept.join("\n");
    while out.contains("\n\n\n") {
        out = out.replace("\n\n\n", "\n\n");
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = "<a>".repeat(100_000);
        let err = parse_xml(&deep).unwrap_err();
        assert!(err.contains("nested more than 128 deep"), "{err}");
    }

    #[test]
    fn the_plan_keeps_existing_files_and_numbers_twins() {
        let entry = |title: &str, url: &str| Entry {
            kind: Kind::Post,
            title: title.into(),
            html: "<p>Today in 1956 it happened.</p>".into(),
            published: Some("2024-02-25T10:00:00+00:00".into()),
            url: Some(url.into()),
            labels: vec![],
        };
        let entries = vec![
            entry("K", "https://b.example/2024/02/k.html"),
            entry("K", "https://b.example/2024/02/k.html"),
            entry("L", "https://b.example/2024/02/l.html"),
            Entry {
                kind: Kind::Skip("comment".into()),
                ..entry("c", "https://b.example/c")
            },
        ];
        let plan = plan(&entries, false, |f| f == "02/02-25-l.md");
        let files: Vec<&str> = plan.writes.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(files, ["02/02-25-k.md", "02/02-25-k-2.md"]);
        assert_eq!(plan.kept, ["02/02-25-l.md"]);
        assert_eq!(plan.skipped.get("comment"), Some(&1));
    }

    #[test]
    fn years() {
        assert_eq!(
            event_year("that is exactly what he did today in 1956 when", 2024),
            Some(1956)
        );
        assert_eq!(
            event_year("In 1953 he died. On this day in 1956 he spoke.", 2024),
            Some(1956)
        );
        assert_eq!(
            event_year(
                "It was 1917 and, today, a revolution; in 1991 it ended",
                2024
            ),
            Some(1917)
        );
        assert_eq!(event_year("A war began in 1939.", 2024), Some(1939));
        assert_eq!(event_year("Nothing here, 12345 and 2999.", 2024), None);
    }

    #[test]
    fn titles_and_slugs() {
        assert_eq!(
            strip_prefix("Today Is...Nikita Khrushchev Denounces Stalin"),
            "Nikita Khrushchev Denounces Stalin"
        );
        assert_eq!(strip_prefix("Today is… The Moon"), "The Moon");
        assert_eq!(strip_prefix("Plain"), "Plain");
        assert_eq!(
            slug_of("https://x.blogspot.com/2024/02/nikita-khrushchev.html", "T"),
            "nikita-khrushchev"
        );
        assert_eq!(slug_of("https://x.example/", "Élan & Co!"), "lan-co");
    }

    #[test]
    fn hostile_html_becomes_clean_markdown() {
        let md = html_to_markdown(
            "<p>Hi <b>there</b> &amp; <a href=\"https://a.example/\">link</a><script>alert(1)</script></p><style>p{}</style><div><p>Unclosed <i>em</div><p>No comments:</p>",
        );
        assert!(!md.contains("alert") && !md.contains("p{}"), "{md}");
        assert!(
            md.contains("**there**")
                && md.contains("[link](https://a.example/)")
                && md.contains("&"),
            "{md}"
        );
        assert!(!md.contains("No comments"), "{md}");
    }
}
