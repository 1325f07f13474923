//! Reading a Day One export (File, Export, JSON: a zip holding one `<Journal>.json` per journal
//! and the media) as Interlude reflections. The bare JSON file, unzipped, works too.
//!
//! | Day One | Interlude |
//! |---|---|
//! | `creationDate` (UTC) in `timeZone` | the moment |
//! | `text` (Markdown) | the text, without media references (`![](dayone-moment://…)`) and the escaping Day One adds (`\.`) |
//! | `tags` | tags |
//! | `starred` | marked helpful |
//!
//! Ids, duplicates and skipped entries as for jrnl.

use std::io::Read as _;

use interlude_proto::v1::{Reflection, ReflectionKind};
use serde_json::Value;

use super::Read;
use crate::time;

/// Reads a Day One export: the zip's bytes, or one journal's JSON.
pub fn read(bytes: &[u8]) -> Result<Read, String> {
    if bytes.starts_with(b"PK") {
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
            .map_err(|e| format!("it is not a readable zip ({e})"))?;
        let mut read = Read {
            reflections: Vec::new(),
            skipped: Vec::new(),
        };
        let mut journals = 0;
        for i in 0..archive.len() {
            let mut file = archive
                .by_index(i)
                .map_err(|e| format!("the zip is damaged ({e})"))?;
            let Ok(name) = file.name().map(|n| n.to_string()) else {
                continue;
            };
            // Journals sit at the top; media folders hold photos.
            if !name.ends_with(".json") || name.contains('/') {
                continue;
            }
            let mut text = String::new();
            file.by_ref()
                .take(256 * 1024 * 1024)
                .read_to_string(&mut text)
                .map_err(|e| format!("{name} in the zip could not be read ({e})"))?;
            let one = journal(&text).map_err(|why| format!("{name}: {why}"))?;
            let offset = read.reflections.len() + read.skipped.len();
            read.reflections.extend(one.reflections);
            read.skipped
                .extend(one.skipped.into_iter().map(|(n, why)| (offset + n, why)));
            journals += 1;
        }
        if journals == 0 {
            return Err(
                "the zip holds no journal (.json) at its top, so it is not a Day One export".into(),
            );
        }
        return Ok(read);
    }
    let text =
        std::str::from_utf8(bytes).map_err(|_| "it is neither a zip nor UTF-8 JSON".to_string())?;
    journal(text)
}

fn journal(text: &str) -> Result<Read, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let doc: Value = serde_json::from_str(text).map_err(|e| format!("it is not JSON ({e})"))?;
    let entries = doc["entries"]
        .as_array()
        .ok_or("it has no `entries` list, so it is not a Day One journal")?;
    let mut read = Read {
        reflections: Vec::new(),
        skipped: Vec::new(),
    };
    for (n, entry) in entries.iter().enumerate() {
        match reflection(entry) {
            Ok(r) => read.reflections.push(r),
            Err(why) => read.skipped.push((n + 1, why)),
        }
    }
    Ok(read)
}

fn reflection(entry: &Value) -> Result<Reflection, String> {
    let text = clean(
        &entry["text"]
            .as_str()
            .unwrap_or_default()
            .replace("\r\n", "\n"),
    );
    if text.is_empty() {
        return Err("it has no text".into());
    }
    let moment: jiff::Timestamp = entry["creationDate"]
        .as_str()
        .ok_or("it has no creationDate")?
        .parse()
        .map_err(|e| format!("its creationDate is not a time ({e})"))?;
    let tags = entry["tags"]
        .as_array()
        .map(|tags| {
            tags.iter()
                .filter_map(Value::as_str)
                .map(|t| t.trim().trim_start_matches('#').to_lowercase())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let when = time::to_proto(moment);
    Ok(Reflection {
        id: super::id_for("dayone", moment.as_millisecond(), &text),
        moment: Some(when),
        recorded_at: Some(when),
        kind: ReflectionKind::Note.into(),
        text,
        tags: super::unique(tags),
        helpful: entry["starred"].as_bool().unwrap_or(false),
        ..Default::default()
    })
}

/// The entry's words: media references dropped, Day One's Markdown escapes undone.
fn clean(text: &str) -> String {
    let kept: Vec<String> = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("![](dayone-moment:"))
        .map(|line| {
            let mut out = String::with_capacity(line.len());
            let mut chars = line.chars().peekable();
            while let Some(c) = chars.next() {
                match (c, chars.peek()) {
                    ('\\', Some(next)) if next.is_ascii_punctuation() => {}
                    _ => out.push(c),
                }
            }
            out
        })
        .collect();
    kept.join("\n").trim().to_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::io::Write;

    use super::*;

    const JOURNAL: &str = "\u{feff}{\"metadata\":{\"version\":\"1.0\"},\"entries\":[\
        {\"uuid\":\"A1\",\"creationDate\":\"2026-10-11T20:10:00Z\",\"timeZone\":\"Europe/London\",\
         \"text\":\"Froze in the meeting\\\\. The critic again 🌊\\r\\n![](dayone-moment://ABC)\",\
         \"tags\":[\"Work\",\"work\"],\"starred\":true},\
        {\"uuid\":\"A2\",\"creationDate\":\"2026-10-12T07:00:00Z\",\"text\":\"\"},\
        {\"uuid\":\"A3\",\"text\":\"no date\"}]}";

    fn zipped(files: &[(&str, &str)]) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut out);
        for (name, text) in files {
            zip.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            zip.write_all(text.as_bytes()).unwrap();
        }
        zip.finish().unwrap();
        out.into_inner()
    }

    #[test]
    fn an_entry_maps_to_a_reflection_and_media_and_escapes_go() {
        let found = read(JOURNAL.as_bytes()).unwrap();
        let r = &found.reflections[0];
        assert_eq!(r.text, "Froze in the meeting. The critic again 🌊");
        assert_eq!(r.tags, ["work"]);
        assert!(r.helpful);
        assert_eq!(r.moment.unwrap().seconds, 1_791_749_400);
        let skipped: Vec<usize> = found.skipped.iter().map(|(n, _)| *n).collect();
        assert_eq!(skipped, [2, 3]);
    }

    #[test]
    fn the_export_zip_is_read_journal_by_journal_and_photos_are_passed_over() {
        let bytes = zipped(&[
            ("Journal.json", JOURNAL),
            ("photos/abc.jpeg", "not json"),
            ("Dreams.json", JOURNAL),
        ]);
        let found = read(&bytes).unwrap();
        assert_eq!(found.reflections.len(), 2);
        assert_eq!(
            found.reflections[0].id, found.reflections[1].id,
            "the same entry, the same id"
        );
        let skipped: Vec<usize> = found.skipped.iter().map(|(n, _)| *n).collect();
        assert_eq!(skipped, [2, 3, 5, 6]);
    }

    #[test]
    fn something_else_is_refused_with_why() {
        assert!(read(b"PK\x03\x04broken").unwrap_err().contains("zip"));
        assert!(
            read(&zipped(&[("photos/a.jpeg", "x")]))
                .unwrap_err()
                .contains("no journal")
        );
        assert!(read(b"[1]").unwrap_err().contains("entries"));
    }
}
