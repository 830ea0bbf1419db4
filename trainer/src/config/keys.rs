//! The set of valid dotted keys, derived from the config types themselves so it cannot
//! drift from them, and the reference's keys that pgcnn knowingly does not take.

use std::sync::OnceLock;

use super::schema::Config;
use super::suggest::closest_names;

/// The dotted keys of a config: leaves (values) and tables (groups of keys).
pub(crate) struct KeySchema {
    /// Every settable key, e.g. `train.lr`, sorted.
    pub leaves: Vec<String>,
    /// Every group of keys, e.g. `train`, `train.scheduler_params`.
    pub tables: Vec<String>,
}

impl KeySchema {
    /// Whether `key` is a settable key.
    pub fn is_leaf(&self, key: &str) -> bool {
        self.leaves.iter().any(|k| k == key)
    }

    /// Whether `key` names a group of keys.
    pub fn is_table(&self, key: &str) -> bool {
        self.tables.iter().any(|k| k == key)
    }

    /// What to show for an unknown `key` that is close to no valid key: the keys of its
    /// group when the group exists (`train.learning_rate` → the `train.*` keys), else the
    /// top-level keys and groups.
    pub fn listing_for(&self, key: &str) -> String {
        let group = key
            .rsplit_once('.')
            .map(|(g, _)| g)
            .filter(|g| self.is_table(g));
        match group {
            Some(g) => {
                let prefix = format!("{g}.");
                let keys: Vec<&str> = self
                    .leaves
                    .iter()
                    .filter_map(|k| k.strip_prefix(&prefix))
                    .collect();
                format!("the keys of `{g}` are {}", keys.join(", "))
            }
            None => {
                let mut top: Vec<&str> = self
                    .leaves
                    .iter()
                    .chain(&self.tables)
                    .map(String::as_str)
                    .filter(|k| !k.contains('.'))
                    .collect();
                top.sort_unstable();
                top.dedup();
                format!("the top-level keys and groups are {}", top.join(", "))
            }
        }
    }

    /// The valid keys closest to an unknown `key`, best first.
    pub fn suggest(&self, key: &str) -> Vec<String> {
        let leaves: Vec<&str> = self.leaves.iter().map(String::as_str).collect();
        closest_names(key, &leaves)
    }
}

/// The key schema, built once from a default config with every optional key filled in.
pub(crate) fn key_schema() -> &'static KeySchema {
    static SCHEMA: OnceLock<KeySchema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let mut example = Config::default();
        // Optional keys are absent from a serialised default; fill them to list them.
        example.dataset_params.val_fraction = Some(0.1);
        // Serialising a config of plain numbers, strings and arrays cannot fail.
        let table = toml::Table::try_from(&example).expect("the default config serialises");
        let mut schema = KeySchema {
            leaves: Vec::new(),
            tables: Vec::new(),
        };
        collect(&table, "", &mut schema);
        schema.leaves.sort();
        schema.tables.sort();
        schema
    })
}

fn collect(table: &toml::Table, prefix: &str, schema: &mut KeySchema) {
    for (key, value) in table {
        let full = join(prefix, key);
        match value {
            toml::Value::Table(inner) => {
                collect(inner, &full, schema);
                schema.tables.push(full);
            }
            _ => schema.leaves.push(full),
        }
    }
}

/// `prefix.key`, or `key` at the top level.
pub(crate) fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Every settable dotted key of a config (e.g. `train.lr`), sorted.
pub fn valid_keys() -> &'static [String] {
    &key_schema().leaves
}

/// Keys (or groups of keys) of the reference implementation's config that pgcnn does
/// not take, with the reason. Their own error beats a far-fetched suggestion when a
/// reference command line is pasted as `--set` arguments.
const REFERENCE_ONLY: &[(&str, &str)] = &[
    (
        "train.do",
        "a key of the reference; pgcnn trains with `pgcnn train`",
    ),
    ("device", "a key of the reference; pgcnn takes `--device`"),
    (
        "cuda_visible_devices",
        "a key of the reference; pgcnn takes `--device`",
    ),
    (
        "no_workers",
        "a key of the reference; pgcnn sizes its own thread pool",
    ),
    ("debug", "a key of the reference that pgcnn does not use"),
    (
        "pretrained",
        "a key of the reference; pgcnn resumes from a checkpoint instead",
    ),
    ("wandb", "a key of the reference; pgcnn logs locally"),
    ("comment", "a key of the reference that pgcnn does not use"),
    (
        "augment",
        "a key of the reference that pgcnn does not use (no augmentation)",
    ),
    (
        "net.bottleneck_factor_skip_connection",
        "a key of the reference that its models never read either",
    ),
    (
        "train.warm_decay",
        "a key of the reference that its training never reads either",
    ),
];

/// The note for a key of the reference that pgcnn does not take, if `key` (or a group
/// above it) is one.
pub(crate) fn reference_only_note(key: &str) -> Option<&'static str> {
    REFERENCE_ONLY
        .iter()
        .find(|(k, _)| key == *k || key.starts_with(&format!("{k}.")))
        .map(|&(_, note)| note)
}
