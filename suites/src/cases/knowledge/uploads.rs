//! Upload rules: every allowed type accepted, bytes that contradict their type refused,
//! empty files refused, the size limit exact to the byte, filenames made safe.

use crate::check::api;
use crate::check::calls::created;
use crate::check::ctx::{CaseReport, CaseRun, CaseSpec, Ctx};
use crate::check::expect::{problem_mismatches, Expect};
use crate::check::tokens::Tenant;

pub const MIME: CaseSpec = CaseSpec {
    id: "uploads::each_allowed_type_is_accepted",
    clauses: &["files.mime-allowed", "files.upload"],
    title: "Each allowed type (text/plain, text/markdown, text/csv, application/json, application/pdf) uploads with 201 and keeps its type",
};
pub const MISMATCH: CaseSpec = CaseSpec {
    id: "uploads::bytes_contradicting_their_type_are_400_content_mismatch",
    clauses: &["files.content-mismatch"],
    title: "A PDF without %PDF-, unparseable JSON and non-UTF-8 text, markdown and CSV give 400 content_mismatch",
};
pub const MISMATCH_DEEP: CaseSpec = CaseSpec {
    id: "uploads::bytes_are_judged_to_the_last_byte",
    clauses: &["files.content-mismatch"],
    title: "Text whose one non-UTF-8 byte sits near the end of 8 KiB, and JSON valid for its first KiBs then broken, give 400 content_mismatch",
};
pub const EMPTY: CaseSpec = CaseSpec {
    id: "uploads::empty_file_is_400_empty_file",
    clauses: &["files.empty"],
    title:
        "An empty file of each allowed type (text, markdown, CSV, JSON, PDF) gives 400 empty_file",
};
pub const SIZE: CaseSpec = CaseSpec {
    id: "uploads::size_limit_is_exact",
    clauses: &["files.size-limit"],
    title: "A file of exactly 10 MiB is accepted; one byte more is 413 payload_too_large, as text and as a PDF",
};
pub const FILENAME: CaseSpec = CaseSpec {
    id: "uploads::filenames_are_reduced_to_a_safe_last_segment",
    clauses: &["files.filename", "files.filename.control"],
    title: "Path separators and backslashes are cut from filenames (an empty result becomes `file`); control characters are removed, or the name refused with 400 invalid_filename",
};
pub const FORMAT: CaseSpec = CaseSpec {
    id: "uploads::filenames_lose_format_and_bidi_characters",
    clauses: &["files.filename.format"],
    title: "Format, bidi and separator characters (U+202E, U+200B, U+FEFF, U+2028) are removed from filenames, or the name refused with 400 invalid_filename (a warning)",
};

/// The contract's default upload limit, counted on the file's bytes.
pub const UPLOAD_LIMIT: usize = 10 * 1024 * 1024;

/// The cases, in order, as `t` (the knowledge-path tenant of [`super::FILE_ROUTES`]).
pub async fn run(ctx: &Ctx, t: &Tenant) -> Vec<CaseReport> {
    vec![
        mime(ctx, t).await,
        mismatch(ctx, t).await,
        mismatch_deep(ctx, t).await,
        empty(ctx, t).await,
        size(ctx, t).await,
        filename(ctx, t).await,
        format_characters(ctx, t).await,
    ]
}

/// A character that hides or reorders text without being a control character:
/// Unicode general category Cf (format: U+202E RIGHT-TO-LEFT OVERRIDE, U+200B,
/// U+FEFF), Zl or Zp (U+2028, U+2029).
pub fn is_format_or_separator(c: char) -> bool {
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
    matches!(
        c.general_category(),
        GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    )
}

async fn mime(ctx: &Ctx, t: &Tenant) -> CaseReport {
    let mut c = CaseRun::start(ctx, MIME);
    let samples: [(&str, &str, &[u8]); 5] = [
        ("a.txt", "text/plain", b"plain text\n"),
        ("b.md", "text/markdown", b"# Heading\n\nbody\n"),
        ("c.csv", "text/csv", b"name,count\nherons,3\n"),
        (
            "d.json",
            "application/json",
            br#"{"k": [1, 2, {"n": null}]}"#,
        ),
        (
            "e.pdf",
            "application/pdf",
            b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n%%EOF\n",
        ),
    ];
    for (name, mime, data) in samples {
        if let Some(up) = created(&mut c, api::upload(t, name, mime, data.to_vec())).await {
            c.check(
                up["mime_type"] == mime,
                format!("{mime} stored as {}", up["mime_type"]),
            );
        }
    }
    c.finish()
}

async fn mismatch(ctx: &Ctx, t: &Tenant) -> CaseReport {
    let mut c = CaseRun::start(ctx, MISMATCH);
    let samples: [(&str, &str, &[u8]); 5] = [
        ("fake.pdf", "application/pdf", b"just text, no magic\n"),
        ("broken.json", "application/json", br#"{"k": [1, 2"#),
        ("latin1.txt", "text/plain", b"caf\xe9 cr\xe8me\n"),
        ("bin.md", "text/markdown", b"# \xff\xfe\x00\x81\n"),
        ("bad.csv", "text/csv", b"a,b\n\xc3\x28,1\n"),
    ];
    for (name, mime, data) in samples {
        c.call(
            api::upload(t, name, mime, data.to_vec()),
            Expect::problem(400, "content_mismatch"),
        )
        .await;
    }
    c.finish()
}

/// A file of [`DEEP`] bytes that is right up to its last few bytes: a server that
/// judges only a prefix (the first KiB, a sniffing window) accepts it.
async fn mismatch_deep(ctx: &Ctx, t: &Tenant) -> CaseReport {
    let mut c = CaseRun::start(ctx, MISMATCH_DEEP);
    let line = b"A line of plain ASCII text, repeated to fill the file.\n";
    let mut text = line.repeat(DEEP / line.len());
    // Latin-1 `\xe9` ("cafe" with an accent), a dozen bytes before the end.
    text.extend_from_slice(b"caf\xe9 au lait\n");
    let item = br#""a well-formed string item of the array","#;
    let mut json = br#"{"items": ["#.to_vec();
    json.extend(item.repeat(DEEP / item.len()));
    // The array is never closed: the error is only at the end.
    json.extend_from_slice(br#""last" "tail": }"#);
    let samples = [
        ("late-latin1.txt", "text/plain", text),
        ("late-break.json", "application/json", json),
    ];
    for (name, mime, data) in samples {
        c.call(
            api::upload(t, name, mime, data),
            Expect::problem(400, "content_mismatch"),
        )
        .await;
    }
    c.finish()
}

/// The size of the files [`mismatch_deep`] sends: eight times the 1 KiB a prefix check reads.
const DEEP: usize = 8 * 1024;

async fn empty(ctx: &Ctx, t: &Tenant) -> CaseReport {
    let mut c = CaseRun::start(ctx, EMPTY);
    // "An empty file is 400 empty_file", whatever its type: not a content
    // mismatch of an empty JSON document, not a 201 for text with nothing to judge.
    for (name, mime) in [
        ("empty.txt", "text/plain"),
        ("empty.md", "text/markdown"),
        ("empty.csv", "text/csv"),
        ("empty.json", "application/json"),
        ("empty.pdf", "application/pdf"),
    ] {
        c.call(
            api::upload(t, name, mime, Vec::new()),
            Expect::problem(400, "empty_file"),
        )
        .await;
    }
    c.finish()
}

async fn size(ctx: &Ctx, t: &Tenant) -> CaseReport {
    let mut c = CaseRun::start(ctx, SIZE);
    let line = b"0123456789abcde\n";
    let exact: Vec<u8> = line.repeat(UPLOAD_LIMIT / line.len());
    let mut over = exact.clone();
    over.push(b'\n');
    if let Some(up) = created(&mut c, api::upload(t, "exact.txt", "text/plain", exact)).await {
        c.check(
            up["size_bytes"].as_u64() == Some(UPLOAD_LIMIT as u64),
            format!("size_bytes {} instead of {UPLOAD_LIMIT}", up["size_bytes"]),
        );
        // Keep the store small: the bytes were the point, not the file.
        if let Some(id) = api::file_id(&up) {
            c.call(api::delete_file(t, &id), Expect::status(204)).await;
        }
    }
    // "A file over the upload limit": whatever its type, not only the text a
    // validator reads to the end.
    let mut pdf = b"%PDF-1.4\n".to_vec();
    pdf.resize(UPLOAD_LIMIT - b"\n%%EOF\n".len() + 1, b' ');
    pdf.extend_from_slice(b"\n%%EOF\n");
    for (name, mime, data) in [
        ("over.txt", "text/plain", over),
        ("over.pdf", "application/pdf", pdf),
    ] {
        c.call(
            api::upload(t, name, mime, data),
            Expect::problem(413, "payload_too_large"),
        )
        .await;
    }
    c.finish()
}

async fn filename(ctx: &Ctx, t: &Tenant) -> CaseReport {
    let mut c = CaseRun::start(ctx, FILENAME);
    // (sent, expected): `None` = a name with control characters: removed (any name
    // without separators or control characters that keeps the visible characters),
    // or the upload refused with 400 invalid_filename. Either is the contract's.
    let samples: [(&str, Option<&str>); 6] = [
        ("../../etc/passwd", Some("passwd")),
        ("a\\b\\c.txt", Some("c.txt")),
        ("C:\\Users\\x\\report.txt", Some("report.txt")),
        ("/", Some("file")),
        ("dir/sub/", Some("file")),
        ("x\ty\u{85}z.txt", None),
    ];
    for (sent, want) in samples {
        let req = api::upload(t, sent, "text/plain", "name test");
        let up = if want.is_some() {
            created(&mut c, req).await
        } else {
            cleaned_or_refused(&mut c, req).await
        };
        let Some(up) = up else { continue };
        let got = up["filename"].as_str().unwrap_or_default().to_owned();
        let unsafe_char = got
            .chars()
            .any(|ch| ch == '/' || ch == '\\' || ch.is_control());
        c.check(
            !unsafe_char && !got.is_empty(),
            format!("filename {sent:?} stored as {got:?}, with a separator or control character"),
        );
        match want {
            Some(w) => c.check(
                got == w,
                format!("filename {sent:?} stored as {got:?}, not {w:?}"),
            ),
            None => c.check(
                got.starts_with('x') && got.ends_with("z.txt"),
                format!("filename {sent:?} stored as {got:?}: its visible characters were lost"),
            ),
        };
    }
    // The reduction is a property of every name: generated ones with their separators near
    // the start, in the middle, only past the first 64 bytes and at the very end.
    let seed = ctx.seed();
    let generated =
        crate::check::generated::filenames(&mut crate::check::generated::rng(seed, FILENAME.id));
    for case in &generated {
        let req = api::upload(t, &case.sent, "text/plain", "name test");
        let Some(up) = created(&mut c, req).await else {
            continue;
        };
        let got = up["filename"].as_str().unwrap_or_default();
        c.check(
            got == case.reduced,
            format!(
                "generated filename {:?} ({}) stored as {got:?}, not {:?} ({})",
                case.sent,
                case.shape,
                case.reduced,
                crate::check::generated::replay(seed)
            ),
        );
    }
    if c.passed_so_far() {
        c.note(format!(
            "{} fixed names and {} generated ones ({})",
            samples.len(),
            generated.len(),
            crate::check::generated::replay(seed)
        ));
    }
    c.finish()
}

/// An upload whose filename has control characters: `201` (the body, to judge
/// the cleaned name) or `400 invalid_filename` with a suggestion (`None`).
async fn cleaned_or_refused(
    c: &mut CaseRun,
    req: crate::check::transport::ApiRequest,
) -> Option<serde_json::Value> {
    let r = c
        .call_with(
            req,
            "201 with the control characters removed, or 400 invalid_filename + suggestion",
            |r| match r.status {
                201 => vec![],
                400 => problem_mismatches(r, Some("invalid_filename")),
                s => vec![format!("status {s} instead of 201 or 400 invalid_filename")],
            },
        )
        .await?;
    let body = r.json().filter(|b| api::file_id(b).is_some());
    if r.status == 201 && body.is_none() {
        c.fail("the 201 body is not a FileInfo with an id");
    }
    body.filter(|_| r.status == 201)
}

/// `invoice\u{202e}txt.exe` shows as `invoiceexe.txt`: a name that keeps such
/// characters does not read as it is stored.
async fn format_characters(ctx: &Ctx, t: &Tenant) -> CaseReport {
    let mut c = CaseRun::start(ctx, FORMAT);
    for sent in [
        "invoice\u{202e}txt.exe",
        "zero\u{200b}width.txt",
        "\u{feff}bom.txt",
        "line\u{2028}break\u{2029}.txt",
    ] {
        let req = api::upload(t, sent, "text/plain", "name test");
        let Some(up) = cleaned_or_refused(&mut c, req).await else {
            continue;
        };
        let got = up["filename"].as_str().unwrap_or_default();
        let kept: Vec<String> = got
            .chars()
            .filter(|ch| is_format_or_separator(*ch))
            .map(|ch| format!("U+{:04X}", u32::from(ch)))
            .collect();
        c.check(
            kept.is_empty(),
            format!(
                "filename {sent:?} stored as {got:?}, keeping {}",
                kept.join(", ")
            ),
        );
        // Removed or replaced: the visible characters stay, in order.
        let mut stored = got.chars();
        let lost = sent
            .chars()
            .filter(|ch| !is_format_or_separator(*ch))
            .any(|ch| !stored.any(|s| s == ch));
        c.check(
            !lost,
            format!("filename {sent:?} stored as {got:?}: its visible characters were lost"),
        );
    }
    c.finish()
}
