//! The printable certificate: one A4 page with what the certificate says, a QR code to its
//! public verification page, and the proof document embedded as `certificate.json`, so the
//! PDF alone is enough for `openforest verify-certificate`.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};
use qrcode::{Color, QrCode};

/// The embedded proof document's file name inside the PDF.
pub const EMBEDDED_DOCUMENT: &str = "certificate.json";

const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
const MARGIN: f32 = 56.0;

/// One line of the certificate: a label and its value.
pub struct Line {
    pub label: String,
    pub value: String,
}

pub struct CertificatePage {
    pub title: String,
    pub certificate_no: String,
    pub status: String,
    pub lines: Vec<Line>,
    pub verification_url: String,
    /// The proof document (JSON) to embed.
    pub document_json: Vec<u8>,
}

/// The standard Helvetica font speaks WinAnsi: anything else prints as `?` rather than as
/// garbage (names in other scripts stay exact in the embedded document).
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            '²' => 0xB2,
            'é' => 0xE9,
            '×' => 0xD7,
            '–' | '—' => b'-',
            '→' => b'>',
            _ => b'?',
        })
        .collect()
}

/// Splits text into lines of at most `width` characters at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    textwrap::wrap(text, width)
        .into_iter()
        .map(|line| line.into_owned())
        .collect()
}

fn text(content: &mut Content, size: f32, x: f32, y: f32, value: &str) {
    content.begin_text();
    content.set_font(Name(b"F1"), size);
    content.next_line(x, y);
    content.show(Str(&win_ansi(value)));
    content.end_text();
}

/// Draws the QR code of `url` with its lower-left corner at (x, y), `size` points wide.
fn qr(content: &mut Content, url: &str, x: f32, y: f32, size: f32) -> Result<(), String> {
    let code = QrCode::new(url.as_bytes()).map_err(|err| format!("QR code: {err}"))?;
    let width = code.width();
    // Four modules of quiet zone on each side, as scanners expect.
    let module = size / (width + 8) as f32;
    content.set_fill_gray(0.0);
    for row in 0..width {
        for column in 0..width {
            if code[(column, row)] == Color::Dark {
                content.rect(
                    x + (column + 4) as f32 * module,
                    y + size - (row + 5) as f32 * module,
                    module,
                    module,
                );
            }
        }
    }
    content.fill_nonzero();
    Ok(())
}

/// Renders the page; answers the PDF's bytes.
pub fn render(page: &CertificatePage) -> Result<Vec<u8>, String> {
    let catalog_id = Ref::new(1);
    let tree_id = Ref::new(2);
    let page_id = Ref::new(3);
    let font_id = Ref::new(4);
    let content_id = Ref::new(5);
    let spec_id = Ref::new(6);
    let file_id = Ref::new(7);

    let mut pdf = Pdf::new();
    {
        let mut catalog = pdf.catalog(catalog_id);
        catalog.pages(tree_id);
        catalog
            .names()
            .embedded_files()
            .names()
            .insert(Str(EMBEDDED_DOCUMENT.as_bytes()), spec_id);
    }
    pdf.pages(tree_id).kids([page_id]).count(1);
    let mut page_writer = pdf.page(page_id);
    page_writer.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT));
    page_writer.parent(tree_id);
    page_writer.contents(content_id);
    page_writer.resources().fonts().pair(Name(b"F1"), font_id);
    page_writer.finish();
    pdf.type1_font(font_id)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));

    let mut content = Content::new();
    // A green band across the top.
    content.set_fill_rgb(0.13, 0.45, 0.25);
    content.rect(0.0, PAGE_HEIGHT - 90.0, PAGE_WIDTH, 90.0);
    content.fill_nonzero();
    content.set_fill_gray(1.0);
    text(&mut content, 24.0, MARGIN, PAGE_HEIGHT - 55.0, &page.title);
    content.set_fill_gray(0.0);
    let mut y = PAGE_HEIGHT - 130.0;
    text(
        &mut content,
        16.0,
        MARGIN,
        y,
        &format!("Certificate {}", page.certificate_no),
    );
    y -= 22.0;
    text(
        &mut content,
        12.0,
        MARGIN,
        y,
        &format!("Status: {}", page.status),
    );
    y -= 30.0;
    for line in &page.lines {
        text(&mut content, 9.0, MARGIN, y, &line.label.to_uppercase());
        for (n, part) in wrap(&line.value, 70).into_iter().enumerate() {
            text(
                &mut content,
                11.0,
                MARGIN + 130.0,
                y - 13.0 * n as f32,
                &part,
            );
            if n > 0 {
                y -= 13.0;
            }
        }
        y -= 20.0;
        if y < 250.0 {
            break;
        }
    }
    let qr_size = 150.0;
    qr(&mut content, &page.verification_url, MARGIN, 60.0, qr_size)?;
    let note_x = MARGIN + qr_size + 20.0;
    text(
        &mut content,
        11.0,
        note_x,
        180.0,
        "Check this certificate: scan the code or open",
    );
    for (n, part) in wrap(&page.verification_url, 55).into_iter().enumerate() {
        text(&mut content, 10.0, note_x, 164.0 - 12.0 * n as f32, &part);
    }
    text(
        &mut content,
        9.0,
        note_x,
        120.0,
        "Offline: openforest verify-certificate <this PDF> --public-key <key>",
    );
    text(
        &mut content,
        9.0,
        note_x,
        106.0,
        "The proof (entries, inclusion proofs, signed tree head) is attached",
    );
    text(
        &mut content,
        9.0,
        note_x,
        94.0,
        &format!("to this PDF as {EMBEDDED_DOCUMENT}."),
    );
    pdf.stream(content_id, &content.finish());

    pdf.file_spec(spec_id)
        .path(Str(EMBEDDED_DOCUMENT.as_bytes()))
        .description(pdf_writer::TextStr("The certificate's proof document"))
        .embedded_file(file_id);
    pdf.embedded_file(file_id, &page.document_json)
        .subtype(Name(b"application#2Fjson"));
    Ok(pdf.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_wrap_at_spaces() {
        assert_eq!(wrap("a bb ccc dddd", 6), vec!["a bb", "ccc", "dddd"]);
        assert_eq!(win_ansi("m² 中"), vec![b'm', 0xB2, b' ', b'?']);
    }
}
