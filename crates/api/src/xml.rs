//! The XML writer the generated output serializers call: elements in the order they are written,
//! text escaped, timestamps as ISO-8601 UTC with milliseconds and `Z`, booleans `true`/`false`
//! (aws-sdk-rust rejects anything else, api-contract.md §3.6), and the success envelope
//! `<{Action}Response><{Action}Result>…</{Action}Result><ResponseMetadata>…` (Result first).

use crate::{Output, Timestamp};
use time::UtcOffset;

/// The XML namespace of the API version served.
pub const NAMESPACE: &str = "http://elasticache.amazonaws.com/doc/2015-02-02/";

/// A shape that can write its members as child elements (implemented by the generated code).
pub trait WriteXml {
    /// Writes every present member, in model order, into the element the caller opened.
    fn write_members(&self, w: &mut XmlWriter);
}

/// An append-only XML text buffer.
#[derive(Debug, Default)]
pub struct XmlWriter {
    out: String,
}

impl XmlWriter {
    /// An empty writer.
    pub fn new() -> XmlWriter {
        XmlWriter {
            out: String::with_capacity(1024),
        }
    }

    /// The text written so far.
    pub fn finish(self) -> String {
        self.out
    }

    fn open(&mut self, name: &str) {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
    }

    fn close(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    fn raw_element(&mut self, name: &str, text: &str) {
        self.open(name);
        self.out.push_str(text);
        self.close(name);
    }

    /// `<name>text</name>`, text escaped.
    pub fn string(&mut self, name: &str, text: &str) {
        self.open(name);
        escape_into(&mut self.out, text);
        self.close(name);
    }

    /// `<name>123</name>`.
    pub fn integer(&mut self, name: &str, value: i32) {
        self.raw_element(name, &value.to_string());
    }

    /// `<name>123</name>` for a 64-bit integer.
    pub fn long(&mut self, name: &str, value: i64) {
        self.raw_element(name, &value.to_string());
    }

    /// `<name>0.5</name>`.
    pub fn double(&mut self, name: &str, value: f64) {
        self.raw_element(name, &value.to_string());
    }

    /// `<name>true</name>` or `<name>false</name>`.
    pub fn boolean(&mut self, name: &str, value: bool) {
        self.raw_element(name, if value { "true" } else { "false" });
    }

    /// `<name>2024-05-01T12:34:56.789Z</name>`.
    pub fn timestamp(&mut self, name: &str, value: Timestamp) {
        self.raw_element(name, &format_timestamp(value));
    }

    /// `<name>members…</name>`.
    pub fn structure<T: WriteXml + ?Sized>(&mut self, name: &str, value: &T) {
        self.open(name);
        value.write_members(self);
        self.close(name);
    }

    /// `<name>` then `element` once per item (the closure writes one item), then `</name>`.
    pub fn list<T>(
        &mut self,
        name: &str,
        items: &[T],
        mut element: impl FnMut(&mut XmlWriter, &T),
    ) {
        self.open(name);
        for item in items {
            element(self, item);
        }
        self.close(name);
    }
}

/// Formats a timestamp the way AWS sends it: UTC, milliseconds, `Z`.
pub fn format_timestamp(t: Timestamp) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// Appends `text` escaped for XML character data. Control characters XML 1.0 cannot carry become
/// U+FFFD, so a stray byte in a stored name cannot make the whole response unparsable.
pub fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\r' => out.push_str("&#xD;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

/// The complete success document for `output`.
pub fn response_document(output: &Output, request_id: &str) -> String {
    let action = output.action();
    let mut w = XmlWriter::new();
    w.out.push('<');
    w.out.push_str(action);
    w.out.push_str("Response xmlns=\"");
    w.out.push_str(NAMESPACE);
    w.out.push_str("\">");
    output.write_result(&mut w);
    w.open("ResponseMetadata");
    w.string("RequestId", request_id);
    w.close("ResponseMetadata");
    w.out.push_str("</");
    w.out.push_str(action);
    w.out.push_str("Response>");
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn timestamps_are_utc_with_millis() {
        assert_eq!(
            format_timestamp(datetime!(2024-05-01 12:34:56.789 UTC)),
            "2024-05-01T12:34:56.789Z"
        );
        assert_eq!(
            format_timestamp(datetime!(2024-05-01 14:34:56 +02:00)),
            "2024-05-01T12:34:56.000Z"
        );
    }

    #[test]
    fn escaping() {
        let mut s = String::new();
        escape_into(&mut s, "a<b>&\"c\"\r\n\u{1}é");
        assert_eq!(s, "a&lt;b&gt;&amp;&quot;c&quot;&#xD;\n\u{FFFD}é");
    }
}
