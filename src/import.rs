//! `todayis import blogger`: a Blogger export (either format) or feed (Atom or RSS)
//! into post files. Parsing and converting are pure; fetching and writing live in
//! `commands.rs`.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Timelike};
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
    /// The current export's `blogger:filename`, when the entry has no address.
    pub file_name: Option<String>,
    pub labels: Vec<String>,
}

/// What to say of a WordPress export, which is not read.
pub const WORDPRESS: &str = "a WordPress export (WXR), not a Blogger one: `import blogger` reads Blogger exports and feeds only. \
To bring the posts in, save the WordPress site's RSS feed as a file (https://YOURSITE/feed/; first raise \
Settings > Reading > \"Syndication feeds show the most recent\" to the number of posts) and import that file";

/// Whether a document is a WordPress export: an RSS document with the `wp` namespace
/// or a `<wp:wxr_version>` in its channel.
pub fn is_wordpress(root: &Element) -> bool {
    root.name == "rss"
        && (root
            .attrs
            .iter()
            .any(|(_, v)| v.starts_with("http://wordpress.org/export/"))
            || root
                .child("channel")
                .is_some_and(|c| c.child("wxr_version").is_some()))
}

/// The blog's own address as the document gives it (the feed's `rel="alternate"`
/// link, or an RSS channel's `<link>`), for exports whose entries carry only file names.
pub fn blog_address(root: &Element) -> Option<String> {
    let link = match root.name.as_str() {
        "feed" => root
            .children("link")
            .find(|l| {
                l.attr("rel") == Some("alternate")
                    && l.attr("type").is_none_or(|t| t == "text/html")
            })
            .and_then(|l| l.attr("href"))
            .map(str::to_string),
        "rss" => root.child("channel").and_then(|c| c.child_text("link")),
        _ => None,
    }?;
    let url = url::Url::parse(link.trim()).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.to_string())
}

/// How many entries the whole feed has, where it says (`openSearch:totalResults`).
pub fn total_results(root: &Element) -> Option<usize> {
    root.child_text("totalResults")?.parse().ok()
}

/// The entries of a Blogger export (GData or current format), an Atom feed or an RSS feed.
pub fn entries(root: &Element, blog_url: Option<&str>) -> Result<Vec<Entry>, String> {
    match root.name.as_str() {
        "feed" => Ok(root
            .children("entry")
            .map(|e| atom_entry(e, blog_url))
            .collect()),
        "rss" if is_wordpress(root) => Err(WORDPRESS.into()),
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
    let file_name = e.child_text("filename");
    let url = e
        .children("link")
        .find(|l| {
            l.attr("rel") == Some("alternate") && l.attr("type").is_none_or(|t| t == "text/html")
        })
        .and_then(|l| l.attr("href"))
        .map(str::to_string)
        .or_else(|| {
            Some(format!(
                "{}/{}",
                blog_url?.trim_end_matches('/'),
                file_name.as_deref()?.trim_start_matches('/')
            ))
        });
    Entry {
        kind,
        file_name,
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
        file_name: None,
        labels: e
            .children("category")
            .map(|c| c.text.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect(),
    }
}

/// How publication times are read.
#[derive(Debug, Clone, Copy)]
pub struct Zone {
    pub tz: chrono_tz::Tz,
    /// Given with `--timezone`: then it applies to every time, offsets or not.
    pub explicit: bool,
}

/// A publication within this many hours of midnight (before 03:00 or from 21:00) is
/// listed, so that someone checks its day.
pub const NEAR_MIDNIGHT_HOURS: u32 = 3;

/// A post ready to be written.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// `MM/MM-DD-slug.md`, relative to the output folder.
    pub file: String,
    pub text: String,
    /// Why an editor should look at it; also written into the file as `review`.
    pub review: Vec<String>,
    /// When it was published, if that was near midnight: its day may be wrong.
    pub near_midnight: Option<String>,
    /// Whether its time carried an offset of its own, which was kept.
    pub own_offset: bool,
}

/// How an event year was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// Said outright: "today in 1956", "on this day in 1956", a dated title.
    Said,
    /// Counted back from the publication year: "38 years ago".
    Ago,
    /// The year nearest to "today", or the first one mentioned.
    Guessed,
}

/// Converts a post entry; an error says why it cannot be imported.
pub fn convert(entry: &Entry, zone: &Zone) -> Result<Imported, String> {
    let raw = entry.published.as_deref().ok_or("no publication date")?;
    let published: DateTime<FixedOffset> = DateTime::parse_from_rfc3339(raw)
        .or_else(|_| DateTime::parse_from_rfc2822(raw))
        .map_err(|_| format!("the publication date `{raw}` is not RFC 3339 or RFC 822"))?;
    // A zero offset (the current export's `Z`, RSS's `+0000`) says nothing of the
    // blog's zone: the time is read in `zone`. Another offset is the blog's own zone
    // (the older export) and is kept, unless --timezone was given.
    let own_offset = published.offset().local_minus_utc() != 0 && !zone.explicit;
    let (local, zone_name) = if own_offset {
        (published.naive_local(), published.format("%:z").to_string())
    } else {
        (
            published.with_timezone(&zone.tz).naive_local(),
            zone.tz.name().to_string(),
        )
    };
    let day = local.date();
    let minutes = local.hour() * 60 + local.minute();
    let near = NEAR_MIDNIGHT_HOURS * 60;
    let near_midnight = (minutes < near || minutes >= 24 * 60 - near).then(|| {
        format!(
            "published {} {zone_name} ({} UTC): filed under {}",
            local.format("%Y-%m-%d %H:%M"),
            published.naive_utc().format("%Y-%m-%d %H:%M"),
            day.format("%m-%d")
        )
    });
    let url = entry
        .url
        .clone()
        .ok_or("no address: for an export with only file names, pass --blog-url")?;
    url::Url::parse(&url).map_err(|_| format!("the address `{url}` is not a URL"))?;
    let body = html_to_markdown(&entry.html);
    let paragraphs = crate::text::plain_paragraphs(&body);
    let plain = paragraphs.join(" ");

    let mut review = Vec::new();
    let cleaned = clean_title(&entry.title);
    if let Some(why) = cleaned.review {
        review.push(why);
    }
    let title = if cleaned.text.is_empty() {
        let title = paragraphs
            .first()
            .and_then(|p| title_from_sentence(p))
            .ok_or("no title and no text")?;
        review.push("it had no title: this one is its first sentence; write a better one".into());
        title
    } else {
        cleaned.text
    };
    if let Some((month, d, _)) = cleaned.date
        && (month, d) != (day.month(), day.day())
    {
        review.push(format!(
            "the title said {} {d} but it was published on {} ({zone_name}): check the day",
            MONTHS[month as usize - 1],
            day.format("%B %-d")
        ));
    }

    let found = match cleaned.date.and_then(|(_, _, y)| y) {
        Some(y) => Some((y, Found::Said)),
        None => event_year(&plain, day.year()),
    };
    let year = match found {
        Some((y, Found::Said | Found::Ago)) => y,
        Some((y, Found::Guessed)) => {
            review.push(format!(
                "the event year {y} was guessed from the years in the text: check `date`"
            ));
            y
        }
        None => {
            review.push(format!(
                "no event year found in the text: the date uses the publication year {}; set `date`",
                day.year()
            ));
            day.year()
        }
    };
    let date = NaiveDate::from_ymd_opt(year, day.month(), day.day()).unwrap_or_else(|| {
        review.push(format!(
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
    if !review.is_empty() {
        text.push_str(&format!("review = {}\n", quote(&review.join("; "))));
    }
    text.push_str("+++\n");
    text.push_str(&body);
    text.push('\n');
    Ok(Imported {
        file,
        text,
        review,
        near_midnight,
        own_offset,
    })
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
    /// Written files to look at, with why (also in their `review` key).
    pub review: Vec<(String, String)>,
    /// Written files published near midnight, with when.
    pub near_midnight: Vec<(String, String)>,
    /// How many posts kept the offset their time carried.
    pub own_offset: usize,
    /// Posts with a file name but no address: they need `--blog-url`.
    pub need_blog_url: usize,
    /// Entries that could not be imported, named, with why.
    pub broken: Vec<String>,
    /// Entries skipped on purpose, counted by kind (comment, page, draft, broken).
    pub skipped: std::collections::BTreeMap<String, usize>,
}

pub fn plan(
    entries: &[Entry],
    zone: &Zone,
    overwrite: bool,
    exists: impl Fn(&str) -> bool,
) -> Plan {
    let mut plan = Plan::default();
    let mut taken = std::collections::BTreeSet::new();
    for (n, entry) in entries.iter().enumerate() {
        if let Kind::Skip(why) = &entry.kind {
            *plan.skipped.entry(why.clone()).or_default() += 1;
            continue;
        }
        if entry.url.is_none() && entry.file_name.is_some() {
            plan.need_blog_url += 1;
            *plan.skipped.entry("without an address".into()).or_default() += 1;
            continue;
        }
        let post = match convert(entry, zone) {
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
        if !post.review.is_empty() {
            plan.review.push((file.clone(), post.review.join("; ")));
        }
        if let Some(when) = post.near_midnight {
            plan.near_midnight.push((file.clone(), when));
        }
        plan.own_offset += usize::from(post.own_offset);
        plan.writes.push((file, post.text));
    }
    plan
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A month's number from its name or its three-letter abbreviation ("Feb", "Feb.").
fn month_number(word: &str) -> Option<u32> {
    let w = word.trim_end_matches('.').to_lowercase();
    let i = MONTHS.iter().position(|m| {
        let m = m.to_lowercase();
        m == w || (w.len() == 3 && m.starts_with(&w)) || (w == "sept" && m == "september")
    })?;
    Some(i as u32 + 1)
}

/// "25", "25th", "1st": a day of a month.
fn day_number(word: &str) -> Option<u32> {
    let lower = word.to_lowercase();
    let digits = ["st", "nd", "rd", "th"]
        .iter()
        .find_map(|s| lower.strip_suffix(s))
        .unwrap_or(&lower);
    if !(1..=2).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|d| (1..=31).contains(d))
}

/// The first word of `s` (letters and digits) and what follows it.
fn first_word(s: &str) -> (&str, &str) {
    let end = s.find(|c: char| !c.is_alphanumeric()).unwrap_or(s.len());
    s.split_at(end)
}

/// A date at the start of a title: "February 25th: ...", "25 February 1956 - ...".
#[derive(Debug, PartialEq)]
struct LeadingDate<'a> {
    month: u32,
    day: u32,
    year: Option<i32>,
    /// The title after the date and its separator.
    rest: &'a str,
    /// Whether a separator (`:`, `-`, `–`, `—`, `|`, `,`) or the end follows the date.
    separated: bool,
}

fn leading_date(title: &str) -> Option<LeadingDate<'_>> {
    let (first, after) = first_word(title.trim_start());
    let (month, day, mut rest) = if let Some(month) = month_number(first) {
        let (d, after) = first_word(after.trim_start_matches('.').trim_start());
        (month, day_number(d)?, after)
    } else {
        let day = day_number(first)?;
        let after = after.trim_start();
        let after = after
            .strip_prefix("of ")
            .or_else(|| after.strip_prefix("Of "))
            .unwrap_or(after);
        let (m, after) = first_word(after);
        (month_number(m)?, day, after.trim_start_matches('.'))
    };
    if !crate::post::valid_month_day(month, day) {
        return None;
    }
    let (y, after_year) = first_word(rest.trim_start_matches([',', ' ']));
    let year = (y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()))
        .then(|| y.parse().ok())
        .flatten();
    if year.is_some() {
        rest = after_year;
    }
    let t = rest.trim_start();
    let separator = t.chars().next().filter(|c| ":-–—|,".contains(*c));
    let rest = match separator {
        Some(c) => t[c.len_utf8()..].trim(),
        None => t.trim(),
    };
    Some(LeadingDate {
        month,
        day,
        year,
        rest,
        separated: separator.is_some() || t.is_empty(),
    })
}

/// A title made ready: no "Today Is...", no leading date, a capital first letter.
#[derive(Debug, PartialEq)]
struct Title {
    /// Empty when the post had no title of its own.
    text: String,
    /// The leading date's month, day and year, when one was removed.
    date: Option<(u32, u32, Option<i32>)>,
    review: Option<String>,
}

fn clean_title(raw: &str) -> Title {
    let stripped = strip_prefix(raw);
    let mut title = Title {
        text: capitalised(&stripped),
        date: None,
        review: None,
    };
    if let Some(d) = leading_date(&stripped) {
        let said = format!("{} {}", MONTHS[d.month as usize - 1], d.day);
        if d.separated && !d.rest.is_empty() {
            title.text = capitalised(d.rest);
            title.date = Some((d.month, d.day, d.year));
        } else {
            title.review = Some(format!(
                "the title starts with a date ({said}): remove it unless it belongs there"
            ));
        }
    }
    title
}

/// "the Moon landing" -> "The Moon landing"; "iPhone" stays.
fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(first), second)
            if first.is_lowercase() && !second.is_some_and(char::is_uppercase) =>
        {
            first
                .to_uppercase()
                .chain(s[first.len_utf8()..].chars())
                .collect()
        }
        _ => s.to_string(),
    }
}

/// A title for an untitled post: its first sentence, without a date lead-in, at most
/// twelve words.
fn title_from_sentence(paragraph: &str) -> Option<String> {
    let end = crate::text::sentence_ends(paragraph)
        .first()
        .copied()
        .unwrap_or(paragraph.len());
    let mut sentence = paragraph[..end].trim().trim_end_matches('.');
    let lower = sentence.to_lowercase();
    for lead in [
        "on this day in ",
        "this day in ",
        "on this date in ",
        "today in ",
    ] {
        if let Some(after) = lower.strip_prefix(lead) {
            let (year, _) = first_word(after);
            if !year.is_empty() && year.bytes().all(|b| b.is_ascii_digit()) {
                let at = lead.len() + year.len();
                sentence = sentence
                    .get(at..)
                    .unwrap_or(sentence)
                    .trim_start_matches([',', ' ']);
            }
            break;
        }
    }
    let words: Vec<&str> = sentence.split_whitespace().collect();
    let title = match words.len() {
        0 => return None,
        1..=12 => words.join(" "),
        _ => format!("{}…", words[..12].join(" ")),
    };
    Some(capitalised(&title))
}

/// "Today Is...Nikita Khrushchev" -> "Nikita Khrushchev".
fn strip_prefix(title: &str) -> String {
    let t = title.trim();
    for prefix in ["today is...", "today is…", "today is ...", "today is"] {
        let Some(head) = t.get(..prefix.len()) else {
            continue;
        };
        if !head.eq_ignore_ascii_case(prefix) {
            continue;
        }
        let rest = &t[prefix.len()..];
        // "Today Isn't ..." and "Today Israel ..." keep their words.
        if prefix == "today is" && rest.starts_with(char::is_alphanumeric) {
            break;
        }
        return rest
            .trim_start_matches([' ', '-', ':', '–', '—', '.', '…'])
            .trim()
            .to_string();
    }
    t.to_string()
}

/// The event's year and how it was found: "today in 1956", "on this day in 1956";
/// else "38 years ago" (from `published`, the publication year); else, guessed, the
/// year nearest to "today", else the first year mentioned. Years after `published`
/// are ignored.
pub fn event_year(text: &str, published: i32) -> Option<(i32, Found)> {
    let lower = text.to_lowercase();
    let years: Vec<(usize, i32)> = four_digit_numbers(&lower)
        .into_iter()
        .filter(|&(_, y)| (100..=published).contains(&y))
        .collect();
    for phrase in ["today in ", "this day in ", "on this date in "] {
        if let Some(&(_, y)) = years.iter().find(|(at, _)| lower[..*at].ends_with(phrase)) {
            return Some((y, Found::Said));
        }
    }
    for (at, _) in lower.match_indices(" years ago") {
        let before = lower[..at].trim_end_matches(',');
        let digits = &before[before
            .rfind(|c: char| !c.is_ascii_digit())
            .map_or(0, |p| p + 1)..];
        if let Ok(n) = digits.parse::<i32>()
            && (1..published).contains(&n)
        {
            return Some((published - n, Found::Ago));
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
            return Some((y, Found::Guessed));
        }
    }
    years.first().map(|&(_, y)| (y, Found::Guessed))
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

/// The post's own name from its address (`.../khrushchev-denounces.html`), else the
/// title's; without "today-is-" or a leading date, and never Blogger's `blog-post_25`
/// for an untitled post.
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
    let auto_named = |s: &str| {
        s.strip_prefix("blog-post").is_some_and(|n| {
            n.trim_start_matches('_')
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
    };
    from_url
        .filter(|s| !auto_named(s))
        .map(|s| slugified(&s))
        .filter(|s| !s.is_empty())
        .or_else(|| Some(slugified(title)).filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "post".into())
}

/// Lower-case letters and digits joined by `-`, at most 80 characters, with no
/// "today-is-" and no leading date ("february-25th-").
fn slugified(raw: &str) -> String {
    let mut slug = String::new();
    for c in raw.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let mut slug = slug.trim_end_matches('-');
    if slug == "today-is" || slug == "todayis" {
        return String::new();
    }
    slug = slug
        .strip_prefix("today-is-")
        .or_else(|| slug.strip_prefix("todayis-"))
        .unwrap_or(slug);
    if let Some(d) = leading_date(&slug.replace('-', " "))
        && !d.rest.is_empty()
    {
        slug = &slug[slug.len() - d.rest.len()..];
    }
    slug.chars().take(80).collect()
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
            file_name: None,
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
        let plan = plan(&entries, &UTC, false, |f| f == "02/02-25-l.md");
        let files: Vec<&str> = plan.writes.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(files, ["02/02-25-k.md", "02/02-25-k-2.md"]);
        assert_eq!(plan.kept, ["02/02-25-l.md"]);
        assert_eq!(plan.skipped.get("comment"), Some(&1));
    }

    const UTC: Zone = Zone {
        tz: chrono_tz::UTC,
        explicit: false,
    };

    #[test]
    fn years() {
        let year = |text: &str| event_year(text, 2024);
        assert_eq!(
            year("that is exactly what he did today in 1956 when"),
            Some((1956, Found::Said))
        );
        assert_eq!(
            year("In 1953 he died. On this day in 1956 he spoke."),
            Some((1956, Found::Said))
        );
        assert_eq!(
            year("It was 1917 and, today, a revolution; in 1991 it ended"),
            Some((1917, Found::Guessed))
        );
        assert_eq!(year("A war began in 1939."), Some((1939, Found::Guessed)));
        assert_eq!(
            event_year(
                "Men walked on the Moon 38 years ago. In 1972 the last.",
                2007
            ),
            Some((1969, Found::Ago))
        );
        assert_eq!(year("Nothing here, 12345 and 2999."), None);
    }

    #[test]
    fn titles_and_slugs() {
        assert_eq!(
            strip_prefix("Today Is...Nikita Khrushchev Denounces Stalin"),
            "Nikita Khrushchev Denounces Stalin"
        );
        assert_eq!(strip_prefix("Today is… The Moon"), "The Moon");
        assert_eq!(strip_prefix("Plain"), "Plain");
        assert_eq!(strip_prefix("Today Isn't Over"), "Today Isn't Over");
        assert_eq!(
            strip_prefix("Today İs"),
            "Today İs",
            "no panic on non-ASCII"
        );
        let clean = |t: &str| clean_title(t).text;
        assert_eq!(clean("Today Is...the Moon landing"), "The Moon landing");
        assert_eq!(clean("Today Is...iPhone"), "iPhone");
        assert_eq!(
            clean("Today Is...February 25th: Khrushchev Denounces Stalin"),
            "Khrushchev Denounces Stalin"
        );
        assert_eq!(
            clean_title("Today Is...25 February 1956 - the speech").date,
            Some((2, 25, Some(1956)))
        );
        assert_eq!(clean("May Day Riots"), "May Day Riots");
        assert_eq!(clean("March on Washington"), "March on Washington");
        let undivided = clean_title("Today Is...July 20 Apollo lands");
        assert_eq!(undivided.text, "July 20 Apollo lands");
        assert!(
            undivided
                .review
                .unwrap()
                .contains("starts with a date (July 20)")
        );
        assert_eq!(
            title_from_sentence("On this day in 1969, two men walked on the Moon. Then they left."),
            Some("Two men walked on the Moon".into())
        );
        assert_eq!(
            slug_of("https://x.blogspot.com/2024/02/nikita-khrushchev.html", "T"),
            "nikita-khrushchev"
        );
        assert_eq!(
            slug_of(
                "https://x.blogspot.com/2024/02/today-is-nikita-khrushchev.html",
                "T"
            ),
            "nikita-khrushchev"
        );
        assert_eq!(
            slug_of(
                "https://x.blogspot.com/2024/02/today-isfebruary-25th-k.html",
                "T"
            ),
            "today-isfebruary-25th-k"
        );
        assert_eq!(
            slug_of(
                "https://x.blogspot.com/2024/02/february-25th-khrushchev.html",
                "T"
            ),
            "khrushchev"
        );
        assert_eq!(
            slug_of(
                "https://x.blogspot.com/2024/02/blog-post_25.html",
                "The Moon"
            ),
            "the-moon"
        );
        assert_eq!(slug_of("https://x.example/", "Élan & Co!"), "lan-co");
    }

    #[test]
    fn a_title_whose_date_is_not_the_posts_day_is_marked() {
        let entry = Entry {
            kind: Kind::Post,
            title: "Today Is...February 25th, 1956: Khrushchev Speaks".into(),
            html: "<p>He spoke.</p>".into(),
            published: Some("2024-02-26T15:00:00Z".into()),
            url: Some("https://b.example/2024/02/k.html".into()),
            file_name: None,
            labels: vec![],
        };
        let post = convert(&entry, &UTC).unwrap();
        assert_eq!(post.file, "02/02-26-k.md");
        assert!(
            post.text
                .contains("title = \"Khrushchev Speaks\"\ndate = 1956-02-26\n")
        );
        assert_eq!(
            post.review,
            ["the title said February 25 but it was published on February 26 (UTC): check the day"]
        );
        assert!(post.text.contains("review = \"the title said February 25"));
        assert_eq!(post.near_midnight, None);
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
