//! `report.html`: the comparison report as one self-contained page that opens offline.
//! It renders the few Markdown forms `report.md` uses (headings, paragraphs, bold,
//! code spans, tables, images) and embeds each plot's SVG in place of its image link.

use std::fmt::Write;
use std::path::Path;

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Inline Markdown: `**bold**` and `` `code` ``, on escaped text.
fn inline(s: &str) -> String {
    let mut out = String::new();
    let mut bold = false;
    let mut code = false;
    let text = esc(s);
    let mut rest = text.as_str();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("**") {
            out.push_str(if bold { "</b>" } else { "<b>" });
            bold = !bold;
            rest = r;
        } else if let Some(r) = rest.strip_prefix('`') {
            out.push_str(if code { "</code>" } else { "<code>" });
            code = !code;
            rest = r;
        } else {
            let c = rest.chars().next().expect("not empty");
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// The cells of a table row `| a | b |`.
fn cells(line: &str) -> Vec<&str> {
    let t = line.trim().trim_start_matches('|').trim_end_matches('|');
    t.split('|').map(str::trim).collect()
}

/// An image line `![alt](file.svg)`: the SVG file's contents from `dir`, or a note
/// when it cannot be read.
fn image(line: &str, dir: &Path) -> Option<String> {
    let rest = line.trim().strip_prefix("![")?;
    let (alt, rest) = rest.split_once("](")?;
    let file = rest.strip_suffix(')')?;
    Some(match std::fs::read_to_string(dir.join(file)) {
        Ok(svg) => format!(
            "<figure>{svg}<figcaption>{}</figcaption></figure>",
            esc(alt)
        ),
        Err(e) => format!("<p>({}: {})</p>", esc(file), esc(&e.to_string())),
    })
}

/// Renders `markdown` (as `report.md` writes it) to a whole HTML page, with the SVG
/// plots it links read from `dir`.
pub fn report_html(markdown: &str, dir: &Path) -> String {
    let mut body = String::new();
    let mut lines = markdown.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        if let Some(h) = t.strip_prefix("## ") {
            let _ = writeln!(body, "<h2>{}</h2>", inline(h));
        } else if let Some(h) = t.strip_prefix("# ") {
            let _ = writeln!(body, "<h1>{}</h1>", inline(h));
        } else if let Some(img) = image(t, dir) {
            body.push_str(&img);
        } else if t.starts_with('|') {
            body.push_str("<table>\n<tr>");
            for c in cells(t) {
                let _ = write!(body, "<th>{}</th>", inline(c));
            }
            body.push_str("</tr>\n");
            while let Some(next) = lines.next_if(|l| l.trim().starts_with('|')) {
                let row = cells(next);
                if row
                    .iter()
                    .all(|c| c.chars().all(|ch| ch == '-' || ch == ':'))
                {
                    continue;
                }
                body.push_str("<tr>");
                for c in row {
                    let _ = write!(body, "<td>{}</td>", inline(c));
                }
                body.push_str("</tr>\n");
            }
            body.push_str("</table>\n");
        } else {
            let _ = writeln!(body, "<p>{}</p>", inline(t));
        }
    }
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>domopt compare</title>\n<style>body{{font:14px system-ui,sans-serif;margin:1em 2em}}table{{border-collapse:collapse;font-size:13px}}td,th{{padding:2px 8px;border-bottom:1px solid #eee;text-align:right}}th{{background:#f5f5f5}}td:first-child,th:first-child{{text-align:left}}figure{{margin:1em 0}}</style>\n</head><body>\n{body}</body></html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_bold_and_plots_become_one_page() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.svg"), "<svg id=\"plot\"></svg>").unwrap();
        let md = "# domopt compare\n\nAll 2 plans are **valid** <ok>.\n\n| a | b |\n|---|---|\n| 1 | `x` |\n\n![the plot](p.svg)\n";
        let html = report_html(md, dir.path());
        assert!(html.contains("<h1>domopt compare</h1>"));
        assert!(html.contains("<b>valid</b> &lt;ok&gt;."));
        assert!(html.contains("<tr><th>a</th><th>b</th></tr>"));
        assert!(html.contains("<tr><td>1</td><td><code>x</code></td></tr>"));
        assert!(!html.contains("---"));
        assert!(html.contains("<svg id=\"plot\"></svg><figcaption>the plot</figcaption>"));
    }
}
