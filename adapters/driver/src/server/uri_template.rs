//! Matching a URI against a resource template (RFC 6570 level 1: `{name}` expressions).
//!
//! A variable matches one or more characters, up to the first occurrence of the literal part
//! that follows it in the template (or to the end of the URI when it is last).

use std::collections::BTreeMap;

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriTemplate {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Variable(String),
}

impl UriTemplate {
    /// Parses `template`; `None` if a brace is unbalanced, a name is empty, or two variables
    /// touch (their boundary would be ambiguous).
    pub fn parse(template: &str) -> Option<UriTemplate> {
        let mut parts = Vec::new();
        let mut rest = template;
        while !rest.is_empty() {
            match rest.find('{') {
                Some(0) => {
                    let close = rest.find('}')?;
                    let name = &rest[1..close];
                    if name.is_empty() || name.contains('{') {
                        return None;
                    }
                    if matches!(parts.last(), Some(Part::Variable(_))) {
                        return None;
                    }
                    parts.push(Part::Variable(name.to_string()));
                    rest = &rest[close + 1..];
                }
                Some(open) => {
                    let literal = &rest[..open];
                    if literal.contains('}') {
                        return None;
                    }
                    parts.push(Part::Literal(literal.to_string()));
                    rest = &rest[open..];
                }
                None => {
                    if rest.contains('}') {
                        return None;
                    }
                    parts.push(Part::Literal(rest.to_string()));
                    rest = "";
                }
            }
        }
        Some(UriTemplate { parts })
    }

    /// The variables `uri` binds, or `None` if it does not match.
    pub fn matches(&self, uri: &str) -> Option<BTreeMap<String, String>> {
        let mut vars = BTreeMap::new();
        let mut rest = uri;
        let mut parts = self.parts.iter().peekable();
        while let Some(part) = parts.next() {
            match part {
                Part::Literal(literal) => rest = rest.strip_prefix(literal.as_str())?,
                Part::Variable(name) => {
                    let end = match parts.peek() {
                        Some(Part::Literal(next)) => rest.find(next.as_str())?,
                        _ => rest.len(),
                    };
                    let value = &rest[..end];
                    if value.is_empty() {
                        return None;
                    }
                    vars.insert(name.clone(), value.to_string());
                    rest = &rest[end..];
                }
            }
        }
        rest.is_empty().then_some(vars)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_variable_binds_the_text_between_literals() {
        let template = UriTemplate::parse("file:///{dir}/{name}.txt").unwrap();
        let vars = template.matches("file:///docs/readme.txt").unwrap();
        assert_eq!(vars["dir"], "docs");
        assert_eq!(vars["name"], "readme");
    }

    #[test]
    fn a_uri_with_other_literals_does_not_match() {
        let template = UriTemplate::parse("demo://users/{id}").unwrap();
        assert!(template.matches("demo://groups/7").is_none());
        assert!(template.matches("demo://users/").is_none());
        assert_eq!(template.matches("demo://users/7").unwrap()["id"], "7");
    }

    #[test]
    fn malformed_templates_are_refused() {
        assert!(UriTemplate::parse("a/{b").is_none());
        assert!(UriTemplate::parse("a/b}").is_none());
        assert!(UriTemplate::parse("a/{}").is_none());
        assert!(UriTemplate::parse("{a}{b}").is_none());
    }
}
