//! The post library on disk, and picking the post for a publishing date.
//!
//! File names carry the month and day, so a day's posts are found by listing names
//! and opening only those files, however large the library. Picking is pure.

use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};

use crate::config::{LeapDay, PickRule};
use crate::position::Position;
use crate::post::{self, Post, PostError};

/// Posts that loaded, and the files that did not.
#[derive(Debug, Default)]
pub struct Loaded {
    pub posts: Vec<Post>,
    pub errors: Vec<PostError>,
    /// Files passed over: special files, folder loops.
    pub warnings: Vec<String>,
}

/// The library could not be read: the day is failed, never taken as empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct LibraryError {
    pub path: PathBuf,
    pub message: String,
}

/// The most folders below the posts folder that are listed.
const MAX_FOLDERS: usize = 10_000;

/// The posts folder.
#[derive(Debug, Clone)]
pub struct Library {
    root: PathBuf,
}

impl Library {
    pub fn new(root: &Path) -> Library {
        Library {
            root: root.to_path_buf(),
        }
    }

    /// The `.md` files whose claimed month-day passes `wanted`, sorted, and warnings
    /// for what was passed over (special files, folder loops).
    ///
    /// A folder named like a month (`01` to `12`) holds that month's posts only
    /// (`check` enforces it), so with `months` set the other month folders are not
    /// even listed: the cost of finding a day's posts stays flat as the library
    /// grows. Only the wanted files are sorted, for the same reason.
    ///
    /// Any error listing a folder is an error, never "no post": a day whose folder
    /// cannot be read must fail loudly, not be skipped as empty. Folders are entered
    /// once each (by device and inode), so a symlink loop cannot repeat or hang it.
    fn walk(
        &self,
        months: Option<&[u32]>,
        wanted: impl Fn(Option<(u32, u32)>) -> bool,
    ) -> Result<(Vec<Found>, Vec<String>), LibraryError> {
        use std::os::unix::fs::MetadataExt;
        let list_error = |folder: &Path, e: std::io::Error| LibraryError {
            path: folder.to_path_buf(),
            message: format!("cannot list the folder: {e}"),
        };
        let mut files = Vec::new();
        let mut warnings = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let root_meta = std::fs::metadata(&self.root).map_err(|e| list_error(&self.root, e))?;
        seen.insert((root_meta.dev(), root_meta.ino()));
        let mut folders = vec![(self.root.clone(), None)];
        while let Some((folder, folder_month)) = folders.pop() {
            if seen.len() > MAX_FOLDERS {
                return Err(LibraryError {
                    path: self.root.clone(),
                    message: format!("more than {MAX_FOLDERS} folders below the posts folder"),
                });
            }
            for entry in std::fs::read_dir(&folder).map_err(|e| list_error(&folder, e))? {
                let entry = entry.map_err(|e| list_error(&folder, e))?;
                let name = entry.file_name();
                let Some(name) = name.to_str() else { continue };
                if name.starts_with('.') {
                    continue;
                }
                let path = entry.path();
                let kind = entry.file_type().map_err(|e| list_error(&folder, e))?;
                let is_post = name.ends_with(".md");
                // Markdown by another name is not read: say so, never skip it silently.
                let lower = name.to_ascii_lowercase();
                if !is_post && (lower.ends_with(".md") || lower.ends_with(".markdown")) {
                    warnings.push(format!(
                        "{}: not read: post files end in `.md` (lowercase); rename it",
                        path.display()
                    ));
                    continue;
                }
                let month = month_folder(name);
                if !kind.is_dir() && !kind.is_symlink() && !kind.is_file() {
                    if is_post {
                        warnings.push(format!("{}: skipped: not a regular file", path.display()));
                    }
                    continue;
                }
                if !is_post && !kind.is_dir() && !kind.is_symlink() {
                    continue;
                }
                // Other months' folders are not even looked at.
                if month.is_some_and(|m| months.is_some_and(|wanted| !wanted.contains(&m))) {
                    continue;
                }
                // Follows a symlink; a dangling one is a broken post if it names one.
                let meta = match std::fs::metadata(&path) {
                    Ok(m) => m,
                    Err(e) if is_post => {
                        warnings.push(format!("{}: skipped: {e}", path.display()));
                        continue;
                    }
                    // A month's folder that cannot be opened hides that month's
                    // posts: an error, never an empty month.
                    Err(e) if month.is_some() => return Err(list_error(&path, e)),
                    Err(_) => continue,
                };
                if meta.is_dir() {
                    if !seen.insert((meta.dev(), meta.ino())) {
                        warnings.push(format!(
                            "{}: skipped: this folder was already listed (a symlink loop or a second link to it)",
                            path.display()
                        ));
                        continue;
                    }
                    folders.push((path, month.or(folder_month)));
                } else if is_post {
                    if !meta.is_file() {
                        warnings.push(format!("{}: skipped: not a regular file", path.display()));
                        continue;
                    }
                    let day = post::month_day_from_name(&path);
                    if wanted(day) {
                        files.push(Found {
                            path,
                            day,
                            folder_month,
                        });
                    }
                }
            }
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok((files, warnings))
    }

    /// The posts for the given month-days: only those files are opened.
    pub fn load_days(&self, days: &[(u32, u32)]) -> Result<Loaded, LibraryError> {
        let months: Vec<u32> = days.iter().map(|d| d.0).collect();
        self.load_where(
            Some(&months),
            |day| day.is_some_and(|d| days.contains(&d)),
            false,
        )
    }

    /// Every post, and an error for each file whose name carries no month-day or
    /// that sits in another month's folder.
    pub fn load_all(&self) -> Result<Loaded, LibraryError> {
        self.load_where(None, |_| true, true)
    }

    fn load_where(
        &self,
        months: Option<&[u32]>,
        wanted: impl Fn(Option<(u32, u32)>) -> bool,
        strict: bool,
    ) -> Result<Loaded, LibraryError> {
        let (files, warnings) = self.walk(months, wanted)?;
        let mut loaded = Loaded {
            warnings,
            ..Loaded::default()
        };
        for Found {
            path,
            day,
            folder_month,
        } in files
        {
            let misplaced = match (day, folder_month) {
                (Some((m, d)), Some(folder)) if m != folder => Some(format!(
                    "a post for {m:02}-{d:02} in the folder of month {folder:02}: move it to a folder named {m:02}, where the bot looks for it"
                )),
                _ => None,
            };
            let problem = match (day, misplaced) {
                (None, _) => Some(
                    "the file name must start with the event's month and day, as in 02-25-slug.md"
                        .to_string(),
                ),
                (_, Some(m)) => Some(m),
                _ => None,
            };
            if let Some(message) = problem {
                if strict {
                    loaded.errors.push(PostError {
                        path,
                        position: Position::START,
                        message,
                        more: vec![],
                    });
                }
                continue;
            }
            match post::load(&path, &self.root) {
                Ok(post) => loaded.posts.push(post),
                Err(e) => loaded.errors.push(e),
            }
        }
        Ok(loaded)
    }
}

/// A file found below the root.
struct Found {
    path: PathBuf,
    day: Option<(u32, u32)>,
    /// The month of the nearest enclosing month folder, if any.
    folder_month: Option<u32>,
}

/// `Some(month)` for a folder named `01` to `12`.
fn month_folder(name: &str) -> Option<u32> {
    (name.len() == 2)
        .then(|| name.parse::<u32>().ok())
        .flatten()
        .filter(|m| (1..=12).contains(m))
}

/// The month-days whose posts may go out on `date`: its own, plus Feb 29 on the
/// day `leap_day` names in a common year.
pub fn month_days_for(date: NaiveDate, leap_day: LeapDay) -> Vec<(u32, u32)> {
    let own = (date.month(), date.day());
    let common_year = NaiveDate::from_ymd_opt(date.year(), 2, 29).is_none();
    let leap_joins = common_year
        && match leap_day {
            LeapDay::Feb28 => own == (2, 28),
            LeapDay::Mar1 => own == (3, 1),
            LeapDay::Skip => false,
        };
    if leap_joins {
        vec![own, (2, 29)]
    } else {
        vec![own]
    }
}

/// Chooses the post for `date` among `candidates` (all for that date's month-days).
///
/// `rotate` orders the candidates by event date (then path) and takes the publishing
/// year modulo their count: stateless, so a preview always equals what goes out.
/// `random` is seeded by the date, for the same reason.
pub fn pick(candidates: &[Post], date: NaiveDate, rule: PickRule) -> Option<&Post> {
    pick_among(candidates.iter().collect(), date, rule)
}

/// [`pick`] over borrowed candidates, for callers that hold posts elsewhere.
pub fn pick_among(mut sorted: Vec<&Post>, date: NaiveDate, rule: PickRule) -> Option<&Post> {
    sorted.sort_by(|a, b| (a.date, &a.path).cmp(&(b.date, &b.path)));
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let index = match rule {
        PickRule::Oldest => 0,
        PickRule::Newest => n - 1,
        PickRule::Rotate => date.year().rem_euclid(n as i32) as usize,
        PickRule::Random => (seed(date) % n as u64) as usize,
    };
    Some(sorted[index])
}

/// FNV-1a of the ISO date: stable across builds and platforms, unlike std's hasher.
fn seed(date: NaiveDate) -> u64 {
    date.to_string()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
}

/// The day's post: loads only that day's files. Errors in those files come back too,
/// so the caller can report them; they never hide a good post.
pub fn post_for(
    library: &Library,
    date: NaiveDate,
    leap_day: LeapDay,
    rule: PickRule,
) -> Result<(Option<Post>, Vec<PostError>), LibraryError> {
    let loaded = library.load_days(&month_days_for(date, leap_day))?;
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    let picked = pick(&loaded.posts, date, rule).cloned();
    Ok((picked, loaded.errors))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(date: &str, name: &str) -> Post {
        let date: NaiveDate = date.parse().unwrap();
        Post {
            path: PathBuf::from(format!(
                "posts/{:02}-{:02}-{name}.md",
                date.month(),
                date.day()
            )),
            title: name.into(),
            date,
            url: format!("https://todayis.example/{name}"),
            summary: None,
            tags: vec![],
            image: None,
            content_warning: None,
            lang: None,
            sources: vec![],
            review: None,
            body: String::new(),
        }
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn leap_day_posts_in_common_years() {
        use LeapDay::*;
        let cases = [
            ("2024-02-28", Feb28, vec![(2, 28)]),
            ("2024-02-29", Feb28, vec![(2, 29)]),
            ("2024-03-01", Mar1, vec![(3, 1)]),
            ("2025-02-28", Feb28, vec![(2, 28), (2, 29)]),
            ("2025-03-01", Feb28, vec![(3, 1)]),
            ("2025-02-28", Mar1, vec![(2, 28)]),
            ("2025-03-01", Mar1, vec![(3, 1), (2, 29)]),
            ("2025-02-28", Skip, vec![(2, 28)]),
            ("2025-03-01", Skip, vec![(3, 1)]),
            ("2100-02-28", Feb28, vec![(2, 28), (2, 29)]),
            ("2000-02-28", Feb28, vec![(2, 28)]),
        ];
        for (date, rule, expected) in cases {
            assert_eq!(month_days_for(d(date), rule), expected, "{date} {rule:?}");
        }
    }

    #[test]
    fn picks_among_several() {
        let posts = vec![
            post("1956-02-25", "b"),
            post("1921-02-25", "a"),
            post("1986-02-25", "c"),
        ];
        let cases = [
            (PickRule::Oldest, "2024-02-25", "a"),
            (PickRule::Newest, "2024-02-25", "c"),
        ];
        // Rotate walks the candidates in event order, one step a year.
        let rotated: Vec<&str> = (2024..2030)
            .map(|y| {
                pick(&posts, d(&format!("{y}-02-25")), PickRule::Rotate)
                    .unwrap()
                    .title
                    .as_str()
            })
            .collect();
        assert_eq!(rotated, ["c", "a", "b", "c", "a", "b"]);
        for (rule, date, expected) in cases {
            assert_eq!(pick(&posts, d(date), rule).unwrap().title, expected);
        }
        // Random is a function of the date: the same every time it is asked.
        let first = pick(&posts, d("2024-02-25"), PickRule::Random)
            .unwrap()
            .title
            .clone();
        for _ in 0..5 {
            assert_eq!(
                pick(&posts, d("2024-02-25"), PickRule::Random)
                    .unwrap()
                    .title,
                first
            );
        }
        let years: std::collections::BTreeSet<String> = (2000..2040)
            .map(|y| {
                pick(&posts, d(&format!("{y}-02-25")), PickRule::Random)
                    .unwrap()
                    .title
                    .clone()
            })
            .collect();
        assert_eq!(
            years.len(),
            3,
            "random should reach every candidate over the years"
        );
    }

    #[test]
    fn no_post_no_pick() {
        assert!(pick(&[], d("2024-02-25"), PickRule::Rotate).is_none());
    }

    #[test]
    fn one_post_is_always_picked() {
        let posts = vec![post("1956-02-25", "k")];
        for rule in [
            PickRule::Rotate,
            PickRule::Newest,
            PickRule::Oldest,
            PickRule::Random,
        ] {
            assert_eq!(pick(&posts, d("2025-02-25"), rule).unwrap().title, "k");
        }
    }
}
