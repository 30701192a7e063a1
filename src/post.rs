//! One post file: TOML front matter between `+++` lines, then a Markdown body.
//!
//! [`parse`] does all the work on a string and reports `path:line:column: message`;
//! [`load`] is the thin filesystem shell around it (UTF-8, the image on disk).

use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};

use serde::Deserialize;
use toml::Spanned;

use crate::position::Position;

/// A post ready to be picked and rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct Post {
    /// The file it came from, as found below the posts folder.
    pub path: PathBuf,
    pub title: String,
    /// The event's date: its month and day pick the publishing day.
    pub date: NaiveDate,
    pub url: String,
    pub summary: Option<String>,
    pub tags: Vec<String>,
    pub image: Option<Image>,
    pub content_warning: Option<String>,
    pub lang: Option<String>,
    /// Where the post's facts were checked: absolute http(s) URLs, never sent.
    pub sources: Vec<String>,
    /// Why an editor should look at the post (set by an import), never sent:
    /// `check` warns until the key is removed.
    pub review: Option<String>,
    /// The Markdown body.
    pub body: String,
}

/// A picture attached to a post, resolved relative to the post file.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// As the post names it, joined to the post's folder: what previews show.
    pub path: PathBuf,
    /// The resolved file, checked to be a regular file inside the posts folder
    /// (set by [`load`]; empty after a bare [`parse`], which touches no disk).
    pub file: PathBuf,
    pub alt: String,
    /// Where the post's `image` key is, for messages about the picture.
    pub at: Position,
}

/// A problem with one post file, located for an editor; `more` holds the file's
/// other problems of the same pass (every unknown key at once, in file order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostError {
    pub path: PathBuf,
    pub position: Position,
    pub message: String,
    pub more: Vec<(Position, String)>,
}

impl std::error::Error for PostError {}

impl fmt::Display for PostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}",
            self.path.display(),
            self.position,
            self.message
        )?;
        for (position, message) in &self.more {
            write!(f, "\n{}:{position}: {message}", self.path.display())?;
        }
        Ok(())
    }
}

impl PostError {
    fn new(path: &Path, position: Position, message: impl Into<String>) -> Self {
        PostError {
            path: path.to_path_buf(),
            position,
            message: message.into(),
            more: vec![],
        }
    }

    /// Each problem on its own: the first, then the others.
    pub fn each(&self) -> impl Iterator<Item = (Position, &str)> {
        std::iter::once((self.position, self.message.as_str()))
            .chain(self.more.iter().map(|(p, m)| (*p, m.as_str())))
    }
}

/// The keys a post's front matter may have.
const KEYS: [&str; 11] = [
    "title",
    "date",
    "url",
    "summary",
    "tags",
    "image",
    "image_alt",
    "content_warning",
    "lang",
    "sources",
    "review",
];

/// The known key nearest to `key`, if one is near (a typo, a missing underscore).
fn did_you_mean(key: &str) -> Option<&'static str> {
    fn distance(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut previous = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let here = row[j + 1];
                row[j + 1] = (previous + usize::from(ca != *cb))
                    .min(row[j] + 1)
                    .min(here + 1);
                previous = here;
            }
        }
        row[b.len()]
    }
    let key = key.to_lowercase().replace('-', "_");
    KEYS.iter()
        .map(|k| (distance(&key, k), *k))
        .filter(|(d, k)| *d <= 2 || k.replace('_', "") == key.replace('_', ""))
        .min()
        .map(|(_, k)| k)
}

/// Where each top-level key of `front` is defined (a `key =` at a line's start).
fn key_positions(front: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in front.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if let Some((key, _)) = trimmed.split_once('=') {
            let key = key.trim().trim_matches('"');
            if !key.is_empty() && !key.starts_with('#') && !key.starts_with('[') {
                out.push((key.to_string(), offset + (line.len() - trimmed.len())));
            }
        }
        offset += line.len();
    }
    out
}

/// A date as the editor wrote it: a TOML date (`1956-02-25`), or a string for a
/// year before the common era: `"-0044-03-15"` is 44 BC (as historians count, with
/// no year 0), kept as the astronomical year -43 so that `{years_ago}` is right.
fn date_of(value: &toml::Value) -> Result<NaiveDate, String> {
    const HOW: &str =
        "write it as 1879-03-14 (year-month-day, no quotes; a year BC as \"-0044-03-15\")";
    match value {
        toml::Value::Datetime(d) => match (d.date, d.time) {
            (Some(d), None) => NaiveDate::from_ymd_opt(d.year.into(), d.month.into(), d.day.into())
                .ok_or_else(|| format!("{d} is not a day of the calendar: {HOW}")),
            _ => Err(format!(
                "`date` must be a plain date like 1956-02-25, not `{d}`"
            )),
        },
        toml::Value::String(s) => {
            let bc = s.trim().strip_prefix('-').and_then(|rest| {
                let mut parts = rest.splitn(3, '-');
                let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
                let ok = y.len() >= 4 && m.len() == 2 && d.len() == 2;
                let (y, m, d): (i32, u32, u32) =
                    (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
                (ok && y >= 1).then(|| NaiveDate::from_ymd_opt(1 - y, m, d))?
            });
            bc.ok_or_else(|| format!("`date` is the text \"{s}\": {HOW}"))
        }
        other => Err(format!("`date` is {}: {HOW}", other.type_str())),
    }
}

/// The month and day a post file's name claims: `MM-DD-slug.md`, or `DD-slug.md`
/// inside a folder named `MM` (the layout the JSON example of the contract shows).
pub fn month_day_from_name(path: &Path) -> Option<(u32, u32)> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix(".md")?;
    let two_digits = |s: &str| -> Option<u32> {
        (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
    };
    let mut parts = stem.splitn(3, '-');
    let first = parts.next()?;
    let second = parts.next();
    if let (Some(month), Some(day)) = (two_digits(first), second.and_then(two_digits)) {
        return valid_month_day(month, day).then_some((month, day));
    }
    // `MM/DD-slug.md`
    let folder = path.parent()?.file_name()?.to_str()?;
    let (month, day) = (two_digits(folder)?, two_digits(first)?);
    valid_month_day(month, day).then_some((month, day))
}

/// Whether `month`/`day` names a day of some year (Feb 29 included).
pub fn valid_month_day(month: u32, day: u32) -> bool {
    NaiveDate::from_ymd_opt(2000, month, day).is_some()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    title: Spanned<String>,
    date: Spanned<toml::Value>,
    url: Spanned<String>,
    summary: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    image: Option<Spanned<String>>,
    image_alt: Option<Spanned<String>>,
    content_warning: Option<String>,
    lang: Option<Spanned<String>>,
    #[serde(default)]
    sources: Vec<Spanned<String>>,
    review: Option<String>,
}

/// Parses a post file's text. `path` names the file in messages and is checked
/// against the date; nothing is read from disk.
pub fn parse(path: &Path, text: &str) -> Result<Post, PostError> {
    let err = |pos: Position, msg: String| PostError::new(path, pos, msg);
    if text.trim().is_empty() {
        return Err(err(Position::START, "the file is empty".into()));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.split_inclusive('\n');
    let first = lines.next().unwrap_or_default();
    if first.trim_end() == "---" {
        return Err(err(
            Position::START,
            "this is YAML front matter (`---`); todayis reads TOML between `+++` lines: put `+++` above and below it, and write `title = \"...\"` for `title: ...`".into(),
        ));
    }
    if first.trim_end() != "+++" {
        return Err(err(
            Position::START,
            "expected `+++` on the first line, to open the TOML front matter".into(),
        ));
    }
    // Find the closing `+++` line; the front matter is what lies between.
    let fm_start = first.len();
    let mut offset = fm_start;
    let mut close = None;
    for line in lines {
        if line.trim_end() == "+++" {
            close = Some((offset, offset + line.len()));
            break;
        }
        offset += line.len();
    }
    let Some((fm_end, body_start)) = close else {
        return Err(err(
            Position::START,
            "the front matter opened here is never closed: add a `+++` line after it".into(),
        ));
    };
    let front = &text[fm_start..fm_end];
    // Positions inside the front matter are one line below the opening `+++`.
    let at = |offset: usize| Position::of(front, offset).below(1);

    // Syntax first; a date written the way people write dates gets the answer.
    let table: toml::Table = toml::from_str(front).map_err(|e| {
        let start = e.span().map_or(0, |s| s.start);
        let line_start = front[..start.min(front.len())]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let message = if front[line_start..].trim_start().starts_with("date") {
            "write the date as 1879-03-14 (year-month-day, no quotes; a year BC as \"-0044-03-15\")"
                .to_string()
        } else {
            e.message().trim().replace('\n', " ")
        };
        err(at(start), message)
    })?;
    // Every unknown key at once, in file order, each with the key it may have meant.
    let mut problems: Vec<(Position, String)> = key_positions(front)
        .into_iter()
        .filter(|(k, _)| table.contains_key(k) && !KEYS.contains(&k.as_str()))
        .map(|(k, offset)| {
            let hint = did_you_mean(&k)
                .map(|m| format!(": did you mean `{m}`?"))
                .unwrap_or_else(|| {
                    format!(
                        " (the keys are {})",
                        KEYS.map(|k| format!("`{k}`")).join(", ")
                    )
                });
            (at(offset), format!("unknown key `{k}`{hint}"))
        })
        .collect();
    let position_of = |key: &str| {
        key_positions(front)
            .into_iter()
            .find(|(k, _)| k == key)
            .map_or(Position::START.below(1), |(_, o)| at(o))
    };
    if let Some(toml::Value::String(tag)) = table.get("tags") {
        problems.push((
            position_of("tags"),
            format!("`tags` is a list: write tags = [\"{tag}\"]"),
        ));
    }
    if let Some(date) = table.get("date")
        && let Err(message) = date_of(date)
    {
        problems.push((position_of("date"), message));
    }
    if !problems.is_empty() {
        problems.sort_by_key(|(p, _)| (p.line, p.column));
        let (position, message) = problems.remove(0);
        return Err(PostError {
            path: path.to_path_buf(),
            position,
            message,
            more: problems,
        });
    }

    let fm: FrontMatter = toml::from_str(front).map_err(|e| {
        let pos = e.span().map_or(Position::START, |s| at(s.start));
        err(pos, e.message().trim().replace('\n', " "))
    })?;

    let title = fm.title.get_ref().trim().to_string();
    if title.is_empty() {
        return Err(err(at(fm.title.span().start), "`title` is empty".into()));
    }

    let date_at = position_of("date");
    let date = date_of(fm.date.get_ref()).map_err(|m| err(date_at, m))?;
    if let Some((month, day)) = month_day_from_name(path)
        && (month, day) != (date.month(), date.day())
    {
        return Err(err(
            date_at,
            format!(
                "the file name says {month:02}-{day:02} but `date` is {date}: rename the file to {}, or fix the date",
                renamed(path, date)
            ),
        ));
    }

    let url = fm.url.get_ref().trim().to_string();
    if !is_web_url(&url) {
        return Err(err(
            at(fm.url.span().start),
            format!("`url` must be an absolute http(s) URL, not `{url}`"),
        ));
    }

    let image = match (fm.image, fm.image_alt) {
        (None, None) => None,
        (Some(image), Some(alt)) if !alt.get_ref().trim().is_empty() => Some(Image {
            path: path.parent().unwrap_or(Path::new("")).join(image.get_ref()),
            file: PathBuf::new(),
            alt: alt.get_ref().trim().to_string(),
            at: at(image.span().start),
        }),
        (Some(image), _) => {
            return Err(err(
                at(image.span().start),
                "`image` needs `image_alt`: describe the picture for people who cannot see it"
                    .into(),
            ));
        }
        (None, Some(alt)) => {
            return Err(err(
                at(alt.span().start),
                "`image_alt` is set but there is no `image`".into(),
            ));
        }
    };

    if let Some(lang) = &fm.lang
        && !is_language_tag(lang.get_ref())
    {
        return Err(err(
            at(lang.span().start),
            format!(
                "`lang` must be a language tag like `en` or `pt-BR`, not `{}`",
                lang.get_ref()
            ),
        ));
    }

    let mut sources = Vec::with_capacity(fm.sources.len());
    for source in fm.sources {
        let text = source.get_ref().trim();
        if !is_web_url(text) {
            return Err(err(
                at(source.span().start),
                format!("each of `sources` must be an absolute http(s) URL, not `{text}`"),
            ));
        }
        sources.push(text.to_string());
    }

    Ok(Post {
        path: path.to_path_buf(),
        title,
        date,
        url,
        summary: fm
            .summary
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
        tags: fm.tags,
        image,
        content_warning: fm
            .content_warning
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
        lang: fm.lang.map(|l| l.into_inner()),
        sources,
        review: fm
            .review
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
        body: text[body_start..].trim().to_string(),
    })
}

/// The file name `path` should have for `date`: its slug after the date it names.
fn renamed(path: &Path, date: NaiveDate) -> String {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let slug = name
        .get(6..)
        .filter(|_| name.len() > 6 && name.as_bytes()[2] == b'-')
        .unwrap_or(name);
    format!("{:02}-{:02}-{slug}", date.month(), date.day())
}

/// An absolute http(s) URL with a host.
fn is_web_url(text: &str) -> bool {
    matches!(url::Url::parse(text), Ok(u) if (u.scheme() == "https" || u.scheme() == "http") && u.host().is_some())
}

/// A loose BCP 47 check: letters, digits and hyphens, starting with a 2-3 letter language.
pub fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary = parts.next().unwrap_or_default();
    (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Reads and parses one post file below `root` (the posts folder), and checks
/// that its picture is a regular file inside `root`, symlinks resolved: a post can
/// never make the bot upload `/etc/passwd` or `/proc/self/environ`.
pub fn load(path: &Path, root: &Path) -> Result<Post, PostError> {
    let bytes = crate::files::read_bounded(path, crate::files::MAX_POST_BYTES, true)
        .map_err(|e| PostError::new(path, Position::START, format!("cannot read the file: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let text = String::from_utf8_lossy(&e.as_bytes()[..valid]).into_owned();
        PostError::new(
            path,
            Position::of(&text, valid),
            "the file is not valid UTF-8: save it as UTF-8",
        )
    })?;
    let mut post = parse(path, &text)?;
    if let Some(image) = &mut post.image {
        image.file = crate::files::confined(root, &image.path)
            .map_err(|message| PostError::new(path, image.at, message))?;
    }
    Ok(post)
}

impl fmt::Display for Post {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.title, self.path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "+++\ntitle = \"Nikita Khrushchev Denounces Stalin\"\ndate = 1956-02-25\nurl = \"https://todayis.example/2024/02/k.html\"\ntags = [\"ColdWar\"]\n+++\nHe spoke **for hours**.\n";

    fn p(name: &str, text: &str) -> Result<Post, PostError> {
        parse(Path::new(name), text)
    }

    fn error_of(name: &str, text: &str) -> String {
        p(name, text).unwrap_err().to_string()
    }

    #[test]
    fn parses_a_good_post() {
        let post = p("posts/02-25-k.md", GOOD).unwrap();
        assert_eq!(post.title, "Nikita Khrushchev Denounces Stalin");
        assert_eq!(post.date, NaiveDate::from_ymd_opt(1956, 2, 25).unwrap());
        assert_eq!(post.tags, ["ColdWar"]);
        assert_eq!(post.body, "He spoke **for hours**.");
    }

    #[test]
    fn names_from_both_layouts() {
        assert_eq!(
            month_day_from_name(Path::new("a/02-25-k.md")),
            Some((2, 25))
        );
        assert_eq!(
            month_day_from_name(Path::new("posts/02/25-k.md")),
            Some((2, 25))
        );
        assert_eq!(
            month_day_from_name(Path::new("posts/02-29-leap.md")),
            Some((2, 29))
        );
        assert_eq!(month_day_from_name(Path::new("posts/02-30-x.md")), None);
        assert_eq!(month_day_from_name(Path::new("posts/notes.md")), None);
        assert_eq!(month_day_from_name(Path::new("posts/2-5-x.md")), None);
    }

    #[test]
    fn all_the_editors_mistakes_at_once_each_with_the_fix() {
        let text = "+++\ntitel = \"x\"\ndate = 1956-02-25\nurl = \"https://a.example/\"\nimagealt = \"y\"\ntags = \"ColdWar\"\ncolour = 1\n+++\n";
        let e = p("p/02-25-k.md", text).unwrap_err();
        let all: Vec<String> = e.each().map(|(pos, m)| format!("{pos}: {m}")).collect();
        assert_eq!(all[0], "2:1: unknown key `titel`: did you mean `title`?");
        assert_eq!(
            all[1],
            "5:1: unknown key `imagealt`: did you mean `image_alt`?"
        );
        assert_eq!(all[2], "6:1: `tags` is a list: write tags = [\"ColdWar\"]");
        assert!(
            all[3].starts_with("7:1: unknown key `colour` (the keys are `title`"),
            "{}",
            all[3]
        );
        for (date, line) in [("14/03/1879", "3"), ("\"1879-03-14\"", "3")] {
            let text =
                format!("+++\ntitle = \"x\"\ndate = {date}\nurl = \"https://a.example/\"\n+++\n");
            let got = error_of("p/03-14-k.md", &text);
            assert!(got.starts_with(&format!("p/03-14-k.md:{line}:")), "{got}");
            assert!(
                got.contains("write it as 1879-03-14 (year-month-day, no quotes")
                    || got.contains("write the date as 1879-03-14"),
                "{got}"
            );
        }
        let yaml = error_of("p/03-14-k.md", "---\ntitle: x\n---\n");
        assert!(yaml.contains("YAML front matter"), "{yaml}");
    }

    #[test]
    fn a_year_before_the_common_era() {
        let post = p(
            "p/03-15-ides.md",
            "+++\ntitle = \"The Ides of March\"\ndate = \"-0044-03-15\"\nurl = \"https://a.example/\"\n+++\nCaesar.\n",
        )
        .unwrap();
        // 44 BC is the astronomical year -43 (there is no year 0).
        assert_eq!(post.date, NaiveDate::from_ymd_opt(-43, 3, 15).unwrap());
        assert!(
            error_of(
                "p/03-15-ides.md",
                "+++\ntitle = \"x\"\ndate = \"-0044-03-32\"\nurl = \"https://a.example/\"\n+++\n"
            )
            .contains("no quotes")
        );
    }

    #[test]
    fn reports_each_problem_with_its_position() {
        let cases = [
            ("", "p/02-25-k.md:1:1: the file is empty"),
            (
                "title = 1",
                "p/02-25-k.md:1:1: expected `+++` on the first line, to open the TOML front matter",
            ),
            (
                "+++\ntitle = \"x\"\n",
                "p/02-25-k.md:1:1: the front matter opened here is never closed: add a `+++` line after it",
            ),
            (
                "+++\ntitle = \"x\"\ndate = 1956-02-25\nurl = \"https://a.example/\"\ntitel = \"y\"\n+++\n",
                "p/02-25-k.md:5:1: unknown key `titel`: did you mean `title`?",
            ),
            (
                "+++\ntitle = \"x\"\ndate = 1956-02-25\n+++\n",
                "p/02-25-k.md:2:1: missing field `url`",
            ),
            (
                "+++\ntitle = 5\ndate = 1956-02-25\nurl = \"https://a.example/\"\n+++\n",
                "p/02-25-k.md:2:9: invalid type: integer `5`, expected a string",
            ),
            (
                "+++\ntitle = \"x\"\ndate = 1956-02-30\nurl = \"https://a.example/\"\n+++\n",
                "p/02-25-k.md:3:8: invalid date, must be within 1-29 for February",
            ),
            (
                "+++\ntitle = \"x\"\ndate = 1956-02-26\nurl = \"https://a.example/\"\n+++\n",
                "p/02-25-k.md:3:1: the file name says 02-25 but `date` is 1956-02-26: rename the file to 02-26-k.md, or fix the date",
            ),
            (
                "+++\ntitle = \"x\"\ndate = 1956-02-25T10:00:00\nurl = \"https://a.example/\"\n+++\n",
                "p/02-25-k.md:3:1: `date` must be a plain date like 1956-02-25, not `1956-02-25T10:00:00`",
            ),
            (
                "+++\ntitle = \"x\"\ndate = 1956-02-25\nurl = \"/2024/02/k.html\"\n+++\n",
                "p/02-25-k.md:4:7: `url` must be an absolute http(s) URL, not `/2024/02/k.html`",
            ),
            (
                "+++\ntitle = \"x\"\ndate = 1956-02-25\nurl = \"https://a.example/\"\nimage = \"k.jpg\"\n+++\n",
                "p/02-25-k.md:5:9: `image` needs `image_alt`: describe the picture for people who cannot see it",
            ),
        ];
        for (text, expected) in cases {
            let got = error_of("p/02-25-k.md", text);
            // The TOML parser's wording is its own; the location and the gist are ours.
            assert!(
                got == expected
                    || (expected.contains("invalid date") && got.starts_with("p/02-25-k.md:3:")),
                "for {text:?}\n got: {got}\nwant: {expected}"
            );
        }
    }
}
