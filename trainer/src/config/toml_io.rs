//! Reading a config from TOML, layering TOML documents and `--set key=value` overrides
//! on a config, and writing a config back as TOML.
//!
//! Every path goes through the same two checks, so a file and a `--set` argument fail
//! the same way: first every key is looked up in the key schema (an unknown key is an
//! error naming the closest valid keys), then the values are deserialised into the typed
//! [`Config`] (a wrong type or an unknown choice is an error naming the key). Layering
//! edits a `toml::Table` of the current config and deserialises the result.

use std::path::Path;

use serde::Deserialize;
use toml::de::{DeTable, DeValue};

use super::error::{ConfigError, Location};
use super::keys::{join, key_schema, reference_only_note};
use super::schema::Config;

impl Config {
    /// Reads a config from TOML text; keys it leaves out keep their defaults.
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigError> {
        Config::default().merge_toml_str(text, "config text")
    }

    /// Reads a config from a TOML file; keys it leaves out keep their defaults.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        Config::default().merge_file(path)
    }

    /// This config with the keys set in the TOML file `path` replaced.
    pub fn merge_file(&self, path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        self.merge_toml_str(&text, &format!("config file `{}`", path.display()))
    }

    /// This config with the keys set in the TOML `text` replaced. `origin` names the
    /// text in errors ("config file `x.toml`").
    pub fn merge_toml_str(&self, text: &str, origin: &str) -> Result<Config, ConfigError> {
        let document = DeTable::parse(text).map_err(|e| ConfigError::Syntax {
            origin: origin.to_string(),
            location: Location::of_offset(text, e.span().map_or(0, |s| s.start)),
            message: e.message().to_string(),
        })?;
        check_keys(document.get_ref(), "", text, origin)?;
        // Errors of values carry a position in `text`: name the key found there.
        let value_error = |e: toml::de::Error| {
            let start = e.span().map(|s| s.start);
            ConfigError::BadValue {
                origin: origin.to_string(),
                location: start.map(|s| Location::of_offset(text, s)),
                key: start
                    .and_then(|s| key_at(document.get_ref(), "", s))
                    .unwrap_or_default(),
                message: e.message().to_string(),
            }
        };
        // Deserialise the document alone first, for errors with positions.
        toml::from_str::<Config>(text).map_err(value_error)?;
        // As a table, integers must fit TOML's i64 (a u64 seed need not).
        let layer: toml::Table = toml::from_str(text).map_err(value_error)?;
        let mut merged = self.to_table()?;
        merge_tables(&mut merged, layer);
        from_table(merged, origin, "")
    }

    /// Applies one `key=value` override, e.g. `train.lr=0.01`, `net.pool_blocks=[0,1]`,
    /// `conv.partial_equiv=true`, `dataset=MNIST6-180`.
    ///
    /// The value is read as a TOML value (numbers, booleans, quoted strings, arrays); one
    /// that is not valid TOML is taken as a bare string, and the reference's `True` /
    /// `False` as booleans. The config is unchanged on error.
    pub fn apply_override(&mut self, assignment: &str) -> Result<(), ConfigError> {
        let bad = |reason: &str| ConfigError::BadOverride {
            text: assignment.to_string(),
            reason: reason.to_string(),
        };
        let (key, raw) = assignment
            .split_once('=')
            .ok_or_else(|| bad("expected key=value, e.g. train.lr=0.01"))?;
        let key = key.trim();
        if key.is_empty() {
            return Err(bad("the key before `=` is empty"));
        }
        let origin = format!("--set `{assignment}`");
        let schema = key_schema();
        if !schema.is_leaf(key) {
            if schema.is_table(key) {
                let example = schema
                    .leaves
                    .iter()
                    .find(|k| k.starts_with(&format!("{key}.")))
                    .cloned()
                    .unwrap_or_default();
                return Err(ConfigError::BadValue {
                    origin,
                    location: None,
                    key: key.to_string(),
                    message: format!(
                        "`{key}` is a group of keys; set one of them, e.g. `{example}`"
                    ),
                });
            }
            let note = reference_only_note(key);
            return Err(ConfigError::UnknownKey {
                origin,
                location: None,
                key: key.to_string(),
                suggestions: if note.is_some() {
                    Vec::new()
                } else {
                    schema.suggest(key)
                },
                note,
            });
        }
        let value = parse_override_value(raw.trim()).map_err(|message| ConfigError::BadValue {
            origin: origin.clone(),
            location: None,
            key: key.to_string(),
            message,
        })?;
        let mut table = self.to_table()?;
        set_path(&mut table, key, value);
        *self = from_table(table, &origin, key)?;
        Ok(())
    }

    /// Applies `key=value` overrides in order (see [`Config::apply_override`]).
    pub fn apply_overrides<S: AsRef<str>>(&mut self, overrides: &[S]) -> Result<(), ConfigError> {
        for o in overrides {
            self.apply_override(o.as_ref())?;
        }
        Ok(())
    }

    /// The config as TOML text, every key written out; reading it back gives an equal
    /// config. Fails only for a seed beyond TOML's integers (above 2⁶³ - 1).
    pub fn to_toml_string(&self) -> Result<String, ConfigError> {
        if i64::try_from(self.seed).is_err() {
            return Err(ConfigError::Render {
                message: format!("seed {} is beyond TOML's integers (2^63 - 1)", self.seed),
            });
        }
        toml::to_string(self).map_err(|e| ConfigError::Render {
            message: e.to_string(),
        })
    }

    /// The config as a TOML table.
    fn to_table(&self) -> Result<toml::Table, ConfigError> {
        toml::Table::try_from(self).map_err(|e| ConfigError::Render {
            message: e.to_string(),
        })
    }
}

/// Deserialises a merged table; `key` names the key being set, if one is.
fn from_table(table: toml::Table, origin: &str, key: &str) -> Result<Config, ConfigError> {
    Config::deserialize(toml::Value::Table(table)).map_err(|e| ConfigError::BadValue {
        origin: origin.to_string(),
        location: None,
        key: key.to_string(),
        message: e.message().to_string(),
    })
}

/// Reads the value of a `--set` argument (see [`Config::apply_override`]). A value that
/// starts like a TOML array, table or quoted string must be one.
fn parse_override_value(raw: &str) -> Result<toml::Value, String> {
    let parsed = toml::de::ValueDeserializer::parse(raw).and_then(toml::Value::deserialize);
    match parsed {
        Ok(value) => Ok(value),
        Err(e) if raw.starts_with(['[', '{', '"', '\'']) => Err(format!(
            "`{raw}` is not a valid TOML value: {}",
            e.message()
        )),
        Err(_) => Ok(match raw {
            // Python's spellings, as in the reference's command lines.
            "True" => toml::Value::Boolean(true),
            "False" => toml::Value::Boolean(false),
            _ => toml::Value::String(raw.to_string()),
        }),
    }
}

/// Sets the dotted `key` in `table`, creating the groups on the way.
fn set_path(table: &mut toml::Table, key: &str, value: toml::Value) {
    match key.split_once('.') {
        None => {
            table.insert(key.to_string(), value);
        }
        Some((head, rest)) => {
            let entry = table
                .entry(head.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !entry.is_table() {
                *entry = toml::Value::Table(toml::Table::new());
            }
            if let toml::Value::Table(inner) = entry {
                set_path(inner, rest, value);
            }
        }
    }
}

/// Replaces the values of `base` by those of `layer`, group by group.
fn merge_tables(base: &mut toml::Table, layer: toml::Table) {
    for (key, value) in layer {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(layer_inner)) => {
                merge_tables(inner, layer_inner);
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// The first (in the text) key of `table` that the schema does not know, as an error.
fn check_keys(table: &DeTable, prefix: &str, text: &str, origin: &str) -> Result<(), ConfigError> {
    let mut unknown = Vec::new();
    find_unknown(table, prefix, &mut unknown);
    let Some((key, offset)) = unknown.into_iter().min_by_key(|&(_, offset)| offset) else {
        return Ok(());
    };
    let note = reference_only_note(&key);
    Err(ConfigError::UnknownKey {
        origin: origin.to_string(),
        location: Some(Location::of_offset(text, offset)),
        suggestions: if note.is_some() {
            Vec::new()
        } else {
            key_schema().suggest(&key)
        },
        key,
        note,
    })
}

/// Collects (dotted key, byte offset) of every unknown key under `table`.
fn find_unknown(table: &DeTable, prefix: &str, out: &mut Vec<(String, usize)>) {
    let schema = key_schema();
    for (key, value) in table.iter() {
        let full = join(prefix, key.get_ref());
        if schema.is_leaf(&full) {
            continue;
        }
        if schema.is_table(&full) {
            if let DeValue::Table(inner) = value.get_ref() {
                find_unknown(inner, &full, out);
            }
            continue;
        }
        // An unknown group: name its first key in full, so the suggestion can match a
        // misspelt group (`trian.lr` → `train.lr`).
        let named = if reference_only_note(&full).is_some() {
            full
        } else {
            first_leaf(value.get_ref(), full)
        };
        out.push((named, key.span().start));
    }
}

/// The dotted key of the first value under `value` (itself if it is not a table).
fn first_leaf(value: &DeValue, key: String) -> String {
    if let DeValue::Table(inner) = value {
        if let Some((k, v)) = inner.iter().next() {
            return first_leaf(v.get_ref(), join(&key, k.get_ref()));
        }
    }
    key
}

/// The dotted key whose value spans byte `offset`, if any.
fn key_at(table: &DeTable, prefix: &str, offset: usize) -> Option<String> {
    for (key, value) in table.iter() {
        let full = join(prefix, key.get_ref());
        if let DeValue::Table(inner) = value.get_ref() {
            if let Some(found) = key_at(inner, &full, offset) {
                return Some(found);
            }
        }
        let span = value.span();
        if span.start <= offset && offset < span.end.max(span.start + 1) {
            return Some(full);
        }
    }
    None
}
