//! The one way mailstead's words reach the admin: commands and the UI print through here,
//! never with `println!`, so the same rules hold for every line:
//!
//! - words for people ([`line`], [`text`] on stdout; [`err_line`], [`err_text`] on stderr)
//!   get ASCII stand-ins for the symbols on a terminal that cannot show them
//!   ([`super::unicode_ok`]); text going to a pipe or a file keeps them;
//! - output for programs ([`data`]: JSON, zone-file lines, completions, the man page) goes
//!   out byte for byte;
//! - a closed pipe (`mailstead runs | head -1`) ends the output quietly, never with a panic.
//!
//! Whether to paint is [`super::color_wanted`]'s call, made where the text is painted.
use std::io::{IsTerminal, Write};

/// Where a text goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Results and good news.
    Out,
    /// Questions' context, warnings and bad news.
    Err,
}

/// Whether `stream` is a terminal that cannot show mailstead's symbols.
fn ascii_wanted(stream: Stream) -> bool {
    let terminal = match stream {
        Stream::Out => std::io::stdout().is_terminal(),
        Stream::Err => std::io::stderr().is_terminal(),
    };
    terminal && !super::unicode_ok()
}

/// `text` for people on `stream`, as it is (no newline added).
pub fn write(stream: Stream, text: &str) {
    let ascii;
    let text = if ascii_wanted(stream) {
        ascii = super::to_ascii(text);
        ascii.as_str()
    } else {
        text
    };
    // A closed pipe or a full disk is not worth a panic: the words are lost either way.
    let _ = match stream {
        Stream::Out => raw(&mut std::io::stdout().lock(), text.as_bytes()),
        Stream::Err => raw(&mut std::io::stderr().lock(), text.as_bytes()),
    };
}

/// Words for people on stdout, as they are (the caller ends its lines).
pub fn text(text: &str) {
    write(Stream::Out, text);
}

/// One line for people on stdout.
pub fn line(text: impl std::fmt::Display) {
    write(Stream::Out, &format!("{text}\n"));
}

/// Words for people on stderr, as they are (the caller ends its lines).
pub fn err_text(text: &str) {
    write(Stream::Err, text);
}

/// One line for people on stderr.
pub fn err_line(text: impl std::fmt::Display) {
    write(Stream::Err, &format!("{text}\n"));
}

/// Output for programs on stdout, byte for byte. A closed pipe is `Ok`: the reader has what
/// it wanted. Other write errors are returned.
pub fn data(bytes: &[u8]) -> std::io::Result<()> {
    match raw(&mut std::io::stdout().lock(), bytes) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}

fn raw(w: &mut dyn Write, bytes: &[u8]) -> std::io::Result<()> {
    w.write_all(bytes)?;
    w.flush()
}
