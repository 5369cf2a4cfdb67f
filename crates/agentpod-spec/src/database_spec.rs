//! The `database` section: the Postgres image and the fixtures that seed it.

use serde::Serialize;

use crate::Fixture;
use crate::decoder::Decoder;
use crate::keys;
use crate::node::{Node, NodeValue, Position};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatabaseSpec {
    pub image: String,
    /// Applied in order, so a schema script comes before the tables it creates are loaded.
    pub fixtures: Vec<Fixture>,
}

impl DatabaseSpec {
    pub(crate) fn decode(
        decoder: &mut Decoder<'_>,
        node: &Node,
        owner: Position,
    ) -> Option<DatabaseSpec> {
        let fields = decoder.mapping(node, owner, "`database`", keys::DATABASE)?;
        decoder.require(&fields, keys::DATABASE_REQUIRED);
        let image = fields
            .get("image")
            .and_then(|field| decoder.image(field.value, "database.image"));
        let fixtures = decoder.optional(&fields, "fixtures", decode_fixtures);
        Some(DatabaseSpec {
            image: image?,
            fixtures: fixtures?.unwrap_or_default(),
        })
    }
}

fn decode_fixtures(decoder: &mut Decoder<'_>, node: &Node) -> Option<Vec<Fixture>> {
    let NodeValue::Sequence(entries) = &node.value else {
        decoder.report(
            node.position,
            format!(
                "expected a list for `database.fixtures`, found {}",
                node.kind_name()
            ),
        );
        return None;
    };
    // Decode every entry before giving up, so all of their problems are reported.
    let fixtures: Vec<Option<Fixture>> = entries
        .iter()
        .enumerate()
        .map(|(index, entry)| Fixture::decode(decoder, entry, index))
        .collect();
    fixtures.into_iter().collect()
}
