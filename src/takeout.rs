//! Finding a Blogger export where people have it: the export file itself, a Google
//! Takeout zip (`Takeout/Blogger/Blogs/NAME/feed.atom` inside), or the Takeout
//! unzipped into a folder. Bounded: only the `feed.atom` entry's bytes are read from
//! a zip, into memory, never extracted; the number of entries, the size read and the
//! folder walk (depth, entries, no symlinks followed) all have a limit.

use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

/// The largest export read (a blog of thousands of posts is tens of megabytes).
pub const MAX_EXPORT_BYTES: u64 = 1 << 30;
/// The most entries a zip may list (a Takeout of several blogs has tens of thousands).
pub const MAX_ZIP_ENTRIES: usize = 1_000_000;
/// The most files and folders looked at below a folder.
const MAX_FOLDER_ENTRIES: usize = 200_000;
/// How deep below a folder `Blogger/Blogs/NAME/feed.atom` is looked for.
const MAX_FOLDER_DEPTH: usize = 8;

/// An export's text and how to name it in messages (`takeout.zip:Takeout/.../feed.atom`).
#[derive(Debug)]
pub struct Export {
    pub label: String,
    pub text: String,
}

/// The blog's name when a path's components end in `Blogs/NAME/feed.atom` (the
/// Takeout layout, `Blogger/Blogs/NAME/feed.atom`).
pub fn blog_of<'a>(components: &[&'a str]) -> Option<&'a str> {
    match components {
        [.., "Blogs", name, "feed.atom"]
            if !name.is_empty() && *name != "." && *name != ".." && !name.contains('\\') =>
        {
            Some(name)
        }
        _ => None,
    }
}

/// Reads the export at `path`: a file (XML, or a zip holding a Takeout), or a folder
/// holding a Takeout. Errors name the file and say what to do.
pub fn read(path: &Path) -> Result<Export, String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if meta.is_dir() {
        let feed = find_in_folder(path)?;
        return read_file(&feed);
    }
    let (mut file, _) =
        crate::files::open_regular(path, true).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let mut magic = [0u8; 4];
    let mut got = 0;
    while got < magic.len() {
        match file.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("cannot read {shown}: {e}")),
        }
    }
    if got == 4 && (magic == *b"PK\x03\x04" || magic == *b"PK\x05\x06") {
        file.rewind()
            .map_err(|e| format!("cannot read {shown}: {e}"))?;
        return from_zip(file, path);
    }
    read_file(path)
}

fn read_file(path: &Path) -> Result<Export, String> {
    let label = path.display().to_string();
    let bytes = crate::files::read_bounded(path, MAX_EXPORT_BYTES, true)
        .map_err(|e| format!("cannot read {label}: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{label}: not UTF-8 text"))?;
    Ok(Export { label, text })
}

/// The one `Blogs/NAME/feed.atom` below `root` (or `root/feed.atom`).
fn find_in_folder(root: &Path) -> Result<PathBuf, String> {
    let shown = root.display();
    let direct = root.join("feed.atom");
    if direct.is_file() {
        return Ok(direct);
    }
    let mut found: Vec<(String, PathBuf)> = Vec::new();
    let mut queue = std::collections::VecDeque::from([(root.to_path_buf(), 0usize)]);
    let mut seen = 0usize;
    while let Some((folder, depth)) = queue.pop_front() {
        let Ok(listing) = std::fs::read_dir(&folder) else {
            continue;
        };
        let mut names: Vec<(PathBuf, std::fs::FileType)> = Vec::new();
        for entry in listing.flatten() {
            seen += 1;
            if seen > MAX_FOLDER_ENTRIES {
                return Err(format!(
                    "{shown}: more than {MAX_FOLDER_ENTRIES} files below it and no Blogger export found yet: name the Takeout folder, or the blog's folder in Blogger/Blogs/"
                ));
            }
            if let Ok(kind) = entry.file_type() {
                names.push((entry.path(), kind));
            }
        }
        names.sort_by(|a, b| a.0.cmp(&b.0));
        for (path, kind) in names {
            // Symlinks are not followed: no loops, nothing outside the folder.
            if kind.is_dir() && depth < MAX_FOLDER_DEPTH {
                queue.push_back((path, depth + 1));
            } else if kind.is_file() {
                let relative = path.strip_prefix(root).unwrap_or(&path);
                let parts: Vec<&str> = relative.iter().filter_map(|c| c.to_str()).collect();
                if let Some(blog) = blog_of(&parts) {
                    found.push((blog.to_string(), path.clone()));
                }
            }
        }
    }
    match found.len() {
        0 => Err(format!(
            "{shown}: no Blogger export in it (looked for Blogger/Blogs/*/feed.atom): name the Takeout zip, its unzipped folder, or the export file"
        )),
        1 => Ok(found.remove(0).1),
        n => Err(format!(
            "{shown} holds {n} blogs ({}): import one at a time, naming its folder, e.g. {}",
            names_of(&found),
            found[0].1.parent().unwrap_or(root).display()
        )),
    }
}

fn names_of<T>(found: &[(String, T)]) -> String {
    let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
    names.join(", ")
}

/// The `feed.atom` of the one blog in a Takeout zip, read into memory.
fn from_zip(file: std::fs::File, path: &Path) -> Result<Export, String> {
    let shown = path.display();
    let mut archive = zip::ZipArchive::new(file).map_err(|e| {
        format!("{shown}: not a zip that can be read ({e}): unzip it and name the folder")
    })?;
    if archive.len() > MAX_ZIP_ENTRIES {
        return Err(format!(
            "{shown}: more than {MAX_ZIP_ENTRIES} files in the zip: unzip it and name the blog's folder in Blogger/Blogs/"
        ));
    }
    let mut found: Vec<(String, usize)> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for i in 0..archive.len() {
        let Some(Ok(name)) = archive.name_for_index(i) else {
            continue;
        };
        let parts: Vec<&str> = name.split('/').collect();
        if let Some(blog) = blog_of(&parts) {
            found.push((blog.to_string(), i));
            names.push(name.to_string());
        }
    }
    let index = match found.len() {
        0 => {
            return Err(format!(
                "{shown}: no Blogger export in the zip (looked for Blogger/Blogs/*/feed.atom): in Google Takeout, choose Blogger"
            ));
        }
        1 => found[0].1,
        n => {
            return Err(format!(
                "{shown} holds {n} blogs ({}): unzip it and import one at a time, naming its folder in Takeout/Blogger/Blogs/",
                names_of(&found)
            ));
        }
    };
    let label = format!("{shown}:{}", names[0]);
    let mut entry = archive.by_index(index).map_err(|e| {
        format!("{label}: cannot be read from the zip ({e}): unzip it and name the folder")
    })?;
    if entry.size() > MAX_EXPORT_BYTES {
        return Err(format!(
            "{label}: {} bytes, more than the {MAX_EXPORT_BYTES} allowed",
            entry.size()
        ));
    }
    let mut bytes = Vec::new();
    (&mut entry)
        .take(MAX_EXPORT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            format!("{label}: cannot be read from the zip ({e}): unzip it and name the folder")
        })?;
    if bytes.len() as u64 > MAX_EXPORT_BYTES {
        return Err(format!(
            "{label}: more than the {MAX_EXPORT_BYTES} bytes allowed"
        ));
    }
    let text = String::from_utf8(bytes).map_err(|_| format!("{label}: not UTF-8 text"))?;
    Ok(Export { label, text })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_takeout_layout_names_the_blog() {
        fn blog(p: &str) -> Option<&str> {
            blog_of(&p.split('/').collect::<Vec<_>>())
        }
        assert_eq!(
            blog("Takeout/Blogger/Blogs/Today Is/feed.atom"),
            Some("Today Is")
        );
        assert_eq!(blog("Blogs/x/feed.atom"), Some("x"));
        assert_eq!(blog("Takeout/Blogger/Blogs/../feed.atom"), None);
        assert_eq!(blog("Takeout/Blogger/Blogs/x/comments.atom"), None);
        assert_eq!(blog("feed.atom"), None);
    }
}
