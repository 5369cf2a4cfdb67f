//! `Catalog`: the user tables of the seeded template, as the boundary sees them.

use sqlx::PgConnection;

use crate::audit_schema::AUDIT_SCHEMA;

/// One ordinary or partitioned table the fixtures created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CatalogTable {
    pub(crate) schema: String,
    pub(crate) name: String,
    /// In column order.
    pub(crate) columns: Vec<String>,
    /// Sequences the table's serial or identity columns own, schema-qualified and quoted.
    pub(crate) sequences: Vec<String>,
}

/// The user tables of one database, sorted by schema and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Catalog {
    pub(crate) tables: Vec<CatalogTable>,
}

impl Catalog {
    /// Reads every table outside the system schemas and the audit schema. Partitions are left
    /// out: the agent reaches their rows through the partitioned parent, which carries the class.
    /// Views, materialized views and foreign tables are left out too and get no grants at all:
    /// a view runs with its owner's (the superuser's) rights, so granting it would open a door
    /// around the boundary.
    pub(crate) async fn read(connection: &mut PgConnection) -> Result<Catalog, sqlx::Error> {
        let rows: Vec<(String, String, Vec<String>, Vec<String>)> = sqlx::query_as(
            "SELECT n.nspname::text, c.relname::text,
                 array(SELECT a.attname::text FROM pg_attribute a
                       WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                       ORDER BY a.attnum),
                 array(SELECT format('%I.%I', sn.nspname, s.relname)
                       FROM pg_depend d
                       JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
                       JOIN pg_namespace sn ON sn.oid = s.relnamespace
                       WHERE d.classid = 'pg_class'::regclass
                         AND d.refclassid = 'pg_class'::regclass
                         AND d.refobjid = c.oid AND d.deptype IN ('a', 'i')
                       ORDER BY 1)
             FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
               AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
               AND n.nspname <> $1
             ",
        )
        .bind(AUDIT_SCHEMA)
        .fetch_all(&mut *connection)
        .await?;
        let mut tables: Vec<CatalogTable> = rows
            .into_iter()
            .map(|(schema, name, columns, sequences)| CatalogTable {
                schema,
                name,
                columns,
                sequences,
            })
            .collect();
        // The server's collation may not sort like Rust does; the effective boundary promises
        // byte order.
        tables.sort_by(|left, right| (&left.schema, &left.name).cmp(&(&right.schema, &right.name)));
        Ok(Catalog { tables })
    }

    /// The table a spec name means: `schema.table`, or `table` in `public`, exactly as written.
    pub(crate) fn find(&self, spec_name: &str) -> Option<usize> {
        let (schema, name) = split_table_name(spec_name);
        self.tables
            .iter()
            .position(|table| table.schema == schema && table.name == name)
    }
}

pub(crate) fn split_table_name(spec_name: &str) -> (&str, &str) {
    spec_name.split_once('.').unwrap_or(("public", spec_name))
}

impl CatalogTable {
    /// `schema.name` quoted for SQL text.
    pub(crate) fn quoted(&self) -> String {
        format!(
            "{}.{}",
            crate::database_name::quote_identifier(&self.schema),
            crate::database_name::quote_identifier(&self.name)
        )
    }

    /// The name as a reader of the spec writes it: unqualified in `public`.
    pub(crate) fn display_name(&self) -> String {
        display_table_name(&self.schema, &self.name)
    }
}

pub(crate) fn display_table_name(schema: &str, name: &str) -> String {
    if schema == "public" {
        name.to_owned()
    } else {
        format!("{schema}.{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unqualified_names_resolve_in_public() {
        assert_eq!(split_table_name("orders"), ("public", "orders"));
        assert_eq!(
            split_table_name("billing.invoices"),
            ("billing", "invoices")
        );
        let catalog = Catalog {
            tables: vec![table("billing", "orders"), table("public", "orders")],
        };
        assert_eq!(catalog.find("orders"), Some(1));
        assert_eq!(catalog.find("billing.orders"), Some(0));
        assert_eq!(catalog.find("Orders"), None);
        assert_eq!(catalog.find("sales.orders"), None);
    }

    fn table(schema: &str, name: &str) -> CatalogTable {
        CatalogTable {
            schema: schema.to_owned(),
            name: name.to_owned(),
            columns: Vec::new(),
            sequences: Vec::new(),
        }
    }
}
