//! A tiny JSON writer for `--json` output.
//!
//! Output only: reading JSON goes through serde_yaml (YAML is a superset of JSON), so
//! neither serde_json nor a derive macro is compiled for a handful of small objects.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    String(String),
    Array(Vec<Json>),
    /// Keys keep their order, so output is stable and reads like the documentation.
    Object(Vec<(String, Json)>),
}

impl Json {
    pub fn object<'a>(fields: impl IntoIterator<Item = (&'a str, Json)>) -> Json {
        Json::Object(
            fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    pub fn array(items: impl IntoIterator<Item = Json>) -> Json {
        Json::Array(items.into_iter().collect())
    }
}

impl From<&str> for Json {
    fn from(s: &str) -> Json {
        Json::String(s.to_string())
    }
}

impl From<String> for Json {
    fn from(s: String) -> Json {
        Json::String(s)
    }
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Json::Null => f.write_str("null"),
            Json::Bool(b) => write!(f, "{b}"),
            Json::String(s) => write_string(f, s),
            Json::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Json::Object(fields) => {
                f.write_str("{")?;
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write_string(f, key)?;
                    write!(f, ":{value}")?;
                }
                f.write_str("}")
            }
        }
    }
}

fn write_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if (c as u32) < 0x20 => write!(f, "\\u{:04x}", c as u32)?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_orders() {
        let value = Json::object([
            (
                "b",
                Json::from("quote \" backslash \\ newline \n bell \u{7} é"),
            ),
            ("a", Json::array([Json::Null, Json::Bool(false)])),
            ("c", Json::object([])),
        ]);
        assert_eq!(
            value.to_string(),
            r#"{"b":"quote \" backslash \\ newline \n bell \u0007 é","a":[null,false],"c":{}}"#
        );
    }

    #[test]
    fn output_reads_back_as_json() {
        let value = Json::object([("k", Json::from("line\n\t\"x\""))]);
        let parsed: serde_yaml::Value = serde_yaml::from_str(&value.to_string()).unwrap();
        assert_eq!(parsed["k"].as_str(), Some("line\n\t\"x\""));
    }
}
