//! Errors of reading, overriding and validating a config. Each says where the problem
//! is (file and line, or the `--set` argument), which key, and what was wrong.

use std::fmt;
use std::path::PathBuf;

use super::keys::key_schema;
use super::suggest::did_you_mean;

/// A 1-based line and column in a TOML text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
}

impl Location {
    /// The location of byte `offset` in `text` (clamped to the text's end).
    pub fn of_offset(text: &str, offset: usize) -> Location {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Location {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// One broken rule found by [`Config::validate`](super::Config::validate).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The dotted key at fault (the first of several when a rule ties keys together).
    pub key: String,
    /// Its value, as TOML writes it.
    pub value: String,
    /// What is wrong and how to fix it.
    pub reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} = {}: {}", self.key, self.value, self.reason)
    }
}

/// Everything that can go wrong with a config.
#[derive(Debug)]
pub enum ConfigError {
    /// The config file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The text is not valid TOML.
    Syntax {
        /// Where the text came from ("config file `x.toml`", ...).
        origin: String,
        /// Where in it.
        location: Location,
        /// The parser's message.
        message: String,
    },
    /// A key that no config has.
    UnknownKey {
        /// Where the key came from.
        origin: String,
        /// Where in a file, if it came from one.
        location: Option<Location>,
        /// The full dotted key.
        key: String,
        /// The closest valid keys, best first.
        suggestions: Vec<String>,
        /// Why the key is not taken, where there is more to say than "unknown" (keys of
        /// the reference implementation that pgcnn has no use for).
        note: Option<&'static str>,
    },
    /// A value of the wrong type, or a string naming no valid choice.
    BadValue {
        /// Where the value came from.
        origin: String,
        /// Where in a file, if it came from one.
        location: Option<Location>,
        /// The dotted key.
        key: String,
        /// What was wrong.
        message: String,
    },
    /// A `--set` argument that is not `key=value`.
    BadOverride {
        /// The argument.
        text: String,
        /// What was wrong.
        reason: String,
    },
    /// Values of the right types that break the rules of [`Config::validate`](super::Config::validate).
    Invalid {
        /// Every broken rule, in key order.
        problems: Vec<Problem>,
    },
    /// No preset of that name.
    UnknownPreset {
        /// The name asked for.
        name: String,
        /// The closest preset names.
        suggestions: Vec<String>,
    },
    /// A config that cannot be written as TOML (an integer beyond TOML's range).
    Render {
        /// The serialiser's message.
        message: String,
    },
}

impl ConfigError {
    /// The keys this error is about (for tests and tools), empty where none applies.
    pub fn keys(&self) -> Vec<&str> {
        match self {
            ConfigError::UnknownKey { key, .. } | ConfigError::BadValue { key, .. } => {
                vec![key.as_str()]
            }
            ConfigError::Invalid { problems } => problems.iter().map(|p| p.key.as_str()).collect(),
            _ => Vec::new(),
        }
    }
}

/// "origin, line 3, column 5" or "origin".
fn place(origin: &str, location: &Option<Location>) -> String {
    match location {
        Some(loc) => format!("{origin}, {loc}"),
        None => origin.to_string(),
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Io { path, source } => {
                write!(f, "cannot read config file `{}`: {source}", path.display())
            }
            ConfigError::Syntax {
                origin,
                location,
                message,
            } => write!(f, "{origin}, {location}: invalid TOML: {message}"),
            ConfigError::UnknownKey {
                origin,
                location,
                key,
                suggestions,
                note,
            } => {
                write!(f, "{}: unknown config key `{key}`", place(origin, location))?;
                if let Some(note) = note {
                    return write!(f, " ({note})");
                }
                if suggestions.is_empty() {
                    // Nothing close: list what is valid where the key was put.
                    write!(f, "; {}", key_schema().listing_for(key))
                } else {
                    f.write_str(&did_you_mean(suggestions))
                }
            }
            ConfigError::BadValue {
                origin,
                location,
                key,
                message,
            } => write!(
                f,
                "{}: bad value for `{key}`: {message}",
                place(origin, location)
            ),
            ConfigError::BadOverride { text, reason } => {
                write!(f, "--set `{text}`: {reason}")
            }
            ConfigError::Invalid { problems } => {
                write!(f, "invalid config:")?;
                for p in problems {
                    write!(f, "\n  {p}")?;
                }
                Ok(())
            }
            ConfigError::UnknownPreset { name, suggestions } => write!(
                f,
                "unknown preset `{name}` (`pgcnn presets` lists them){}",
                did_you_mean(suggestions)
            ),
            ConfigError::Render { message } => {
                write!(f, "cannot write the config as TOML: {message}")
            }
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
