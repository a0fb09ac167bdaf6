//! How untrusted input (tag names, paths, variable values, what a tool printed) appears in
//! a message: escaped and capped, in one place, so that no caller can forget either.

/// Quotes untrusted input for an error message: escaped (no control characters reach the
/// terminal) and capped, so a hostile tag name cannot flood a log or forge lines in it.
pub fn quote(input: &str) -> String {
    const MAX_CHARS: usize = 64;
    let mut out = String::from('"');
    for (i, c) in input.chars().enumerate() {
        if i == MAX_CHARS {
            out.push_str("\"… (");
            out.push_str(&input.chars().count().to_string());
            out.push_str(" characters)");
            return out;
        }
        out.extend(c.escape_debug());
    }
    out.push('"');
    out
}
