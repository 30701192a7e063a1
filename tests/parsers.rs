//! Every parser of outside input, on arbitrary bytes: never a panic, and an error
//! that says where (post files and the config: `path:line:column`; XML:
//! `line:column`).

use std::path::Path;

use proptest::prelude::*;
use todayis::config::Config;
use todayis::import;
use todayis::post;

/// Arbitrary bytes as text, and text shaped like the format (so the parser gets
/// past its first line more often than chance would allow).
fn text_like(prefix: &'static str, suffix: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..1500)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        ".{0,600}".prop_map(move |s| format!("{prefix}{s}{suffix}")),
        proptest::collection::vec(
            prop_oneof![
                Just("title = \"t\"\n"),
                Just("date = 1956-02-25\n"),
                Just("url = \"https://a.example/\"\n"),
                Just("tags = [\"A\"]\n"),
                Just("image = \"x.png\"\n"),
                Just("image_alt = \"\"\n"),
                Just("sources = [\"ftp://x\"]\n"),
                Just("[bot]\n"),
                Just("timezone = \"Mars/Olympus\"\n"),
                Just("catch_up = \"99999999999999999999999d\"\n"),
                Just("<entry>"),
                Just("</entry>"),
                Just("<![CDATA["),
                Just("&#xFFFFFFFF;"),
                Just("\u{feff}"),
                Just("\"\"\"")
            ],
            0..40
        )
        .prop_map(move |parts| format!("{prefix}{}{suffix}", parts.concat())),
    ]
}

fn located(message: &str, path: &str) -> bool {
    let Some(rest) = message.strip_prefix(path).and_then(|r| r.strip_prefix(':')) else {
        return false;
    };
    let mut parts = rest.splitn(3, ':');
    let line = parts.next().unwrap_or_default();
    let column = parts.next().unwrap_or_default();
    line.parse::<usize>().is_ok_and(|l| l >= 1) && column.parse::<usize>().is_ok_and(|c| c >= 1)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn post_files(text in text_like("+++\n", "\n+++\nBody.\n")) {
        let path = "posts/02/02-25-x.md";
        if let Err(e) = post::parse(Path::new(path), &text) {
            let message = e.to_string();
            prop_assert!(located(&message, path), "{message}");
            prop_assert!(!message.contains("Error {"), "a Debug dump: {message}");
        }
    }

    #[test]
    fn configs(text in text_like("[bot]\nposts = \".\"\n", "\n")) {
        if let Err(e) = Config::parse(Path::new("c/todayis.toml"), &text) {
            let message = e.to_string();
            prop_assert!(!message.is_empty());
            for line in message.lines() {
                prop_assert!(line.starts_with("c/todayis.toml: "), "{line}");
            }
        }
    }

    #[test]
    fn blogger_exports(text in text_like("<feed xmlns='http://www.w3.org/2005/Atom'><entry>", "</entry></feed>")) {
        match import::parse_xml(&text) {
            Ok(root) => {
                if let Ok(entries) = import::entries(&root, Some("https://b.example/")) {
                    let _ = import::plan(&entries, &import::Zone { tz: chrono_tz::UTC, explicit: false }, false, |_| false);
                }
            }
            Err(message) => {
                let mut parts = message.splitn(3, ':');
                let line = parts.next().unwrap_or_default();
                let column = parts.next().unwrap_or_default();
                prop_assert!(line.parse::<usize>().is_ok() && column.parse::<usize>().is_ok(), "{message}");
            }
        }
    }
}
