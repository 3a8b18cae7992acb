//! A response's header fields in one block of text, the form they reach the guest in: one
//! allocation however many fields there are, and one copy into the guest.

use std::fmt;
use std::ops::Range;

/// The fields the client itself reads from every response. Which of them a block holds is
/// noted as fields are added, so that a response without them (most) is not scanned.
const NOTED: [&str; 3] = ["set-cookie", "content-encoding", "location"];

/// Header fields as `name: value\r\n` lines, in the order received, names in lower case,
/// valid UTF-8 (bytes of a value that are not are replaced by U+FFFD).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct HeaderBlock {
    text: String,
    /// Bit `i` set: the block has a field named `NOTED[i]`.
    noted: u8,
}

impl HeaderBlock {
    /// An empty block with room for about `bytes` of fields.
    pub fn with_capacity(bytes: usize) -> Self {
        Self {
            text: String::with_capacity(bytes),
            noted: 0,
        }
    }

    /// A block of `lines`, which are already field lines as a block keeps them (`name:
    /// value\r\n`, one space after the colon) except that names may have capitals; `names`
    /// are the byte ranges of the names in `lines`. One copy and a pass over the names,
    /// instead of four appends per field.
    pub fn from_lines(lines: &str, names: impl Iterator<Item = Range<usize>>) -> Self {
        let mut text = lines.to_owned();
        let mut noted = 0;
        for range in names {
            let name = &mut text[range];
            name.make_ascii_lowercase();
            if let Some(bit) = noted_bit(name) {
                noted |= bit;
            }
        }
        Self { text, noted }
    }

    /// Adds a field; `name` is written in lower case.
    pub fn push(&mut self, name: &str, value: &[u8]) {
        let start = self.text.len();
        self.text.push_str(name);
        self.text[start..].make_ascii_lowercase();
        if let Some(bit) = noted_bit(&self.text[start..]) {
            self.noted |= bit;
        }
        self.text.push_str(": ");
        match std::str::from_utf8(value) {
            Ok(value) => self.text.push_str(value),
            Err(_) => self.text.push_str(&String::from_utf8_lossy(value)),
        }
        self.text.push_str("\r\n");
    }

    /// The fields in order, as `(name, value)`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        fields(&self.text)
    }

    /// The first value of field `name`, given in lower case.
    pub fn get<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        self.all(name).next()
    }

    /// Every value of field `name`, given in lower case, in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        let absent = noted_bit(name).is_some_and(|bit| self.noted & bit == 0);
        let text = if absent { "" } else { &self.text };
        fields(text)
            .filter(move |(n, _)| *n == name)
            .map(|(_, v)| v)
    }

    /// How many fields there are.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// The block as the guest receives it.
    pub fn into_string(self) -> String {
        self.text
    }
}

/// The `(name, value)` fields of block text, in order.
fn fields(text: &str) -> impl Iterator<Item = (&str, &str)> {
    // Split by characters, not by the two-character separators: a search for one byte is a
    // `memchr`, one for a string sets up a substring search on every call.
    text.split_terminator('\n').filter_map(|line| {
        let (name, value) = line.strip_suffix('\r')?.split_once(':')?;
        Some((name, value.strip_prefix(' ').unwrap_or(value)))
    })
}

/// The bit noting field `name` (in lower case), if it is one of [`NOTED`].
fn noted_bit(name: &str) -> Option<u8> {
    let index = NOTED.iter().position(|noted| *noted == name)?;
    Some(1 << index)
}

impl fmt::Debug for HeaderBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> FromIterator<(&'a str, &'a [u8])> for HeaderBlock {
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a [u8])>>(fields: I) -> Self {
        let mut block = Self::default();
        for (name, value) in fields {
            block.push(name, value);
        }
        block
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_kept_in_order_with_names_in_lower_case() {
        let block: HeaderBlock = [
            ("Content-Type", b"text/plain".as_slice()),
            ("Set-Cookie", b"a=1"),
            ("set-cookie", b"b=2"),
            ("X-Odd", b"\xff\xfe"),
            ("X-Empty", b""),
        ]
        .into_iter()
        .collect();
        let fields: Vec<(&str, &str)> = block.iter().collect();
        assert_eq!(fields[0], ("content-type", "text/plain"));
        assert_eq!(block.get("set-cookie"), Some("a=1"), "the first of several");
        assert_eq!(block.all("set-cookie").collect::<Vec<_>>(), ["a=1", "b=2"]);
        assert_eq!(fields[3], ("x-odd", "\u{fffd}\u{fffd}"));
        assert_eq!(fields[4], ("x-empty", ""));
        assert_eq!(block.len(), 5);
        assert!(!block.is_empty());
        assert_eq!(block.get("absent"), None);
        assert_eq!(
            block.get("location"),
            None,
            "a noted field it does not have"
        );
        let text = block.into_string();
        assert!(text.starts_with("content-type: text/plain\r\nset-cookie: a=1\r\n"));
        assert!(text.ends_with("x-empty: \r\n"));
    }

    #[test]
    fn the_fields_the_client_reads_are_found_in_any_case_and_place() {
        let block: HeaderBlock = [
            ("Server", b"t".as_slice()),
            ("Location", b"/next"),
            ("CONTENT-ENCODING", b"gzip"),
            ("set-cookie", b"a=1"),
            ("Set-Cookie", b"b=2"),
        ]
        .into_iter()
        .collect();
        assert_eq!(block.get("location"), Some("/next"));
        assert_eq!(block.get("content-encoding"), Some("gzip"));
        assert_eq!(block.all("set-cookie").collect::<Vec<_>>(), ["a=1", "b=2"]);
        let plain: HeaderBlock = [("Server", b"t".as_slice())].into_iter().collect();
        assert_eq!(plain.all("set-cookie").count(), 0);
        assert_eq!(plain.get("server"), Some("t"));
    }

    #[test]
    fn a_block_from_lines_is_the_block_of_its_fields() {
        let lines = "Server: nginx\r\nSet-Cookie: a=B\r\nX-Empty: \r\n";
        let names = [0..6, 15..25, 32..39];
        let block = HeaderBlock::from_lines(lines, names.into_iter());
        let pushed: HeaderBlock = [
            ("Server", b"nginx".as_slice()),
            ("Set-Cookie", b"a=B"),
            ("X-Empty", b""),
        ]
        .into_iter()
        .collect();
        assert_eq!(block, pushed, "the same text and the same noted fields");
        assert_eq!(block.get("set-cookie"), Some("a=B"));
    }

    #[test]
    fn an_empty_block_has_no_fields() {
        let block = HeaderBlock::with_capacity(64);
        assert!(block.is_empty());
        assert_eq!(block.iter().count(), 0);
        assert_eq!(block.into_string(), "");
    }
}
