//! Moving an installation from SQLite to PostgreSQL
//! (`seatwarden migrate --from sqlite:… --to postgres://…`).
//!
//! Every table is copied row by row with its ids, in an order that keeps
//! every reference valid, inside one PostgreSQL transaction: a copy that
//! fails leaves the target as empty as it found it. The target's id
//! sequences then continue after the copied ids, and each table's rows are
//! counted on both sides before the transaction commits. The audit chains
//! hash tenant names, times and texts, never row ids, so they verify on the
//! target exactly as on the source.

use crate::sql::{Engine, Statement};
use crate::{Result, Storage, StoreError, Tenancy};
use anyhow::Context;
use futures_util::TryStreamExt;
use sqlx::Row;

/// Every table of the schema, each after the tables it refers to.
const TABLES: [&str; 25] = [
    "tenants",
    "profiles",
    "subscriptions",
    "job_runs",
    "sync_cursors",
    "activity_watermarks",
    "scheduled_jobs",
    "profile_leases",
    "audit_log",
    "reclamation_rules",
    "removal_candidates",
    "exclusions",
    "identifier_models",
    "entitlements",
    "reconciliation_runs",
    "tenant_jobs",
    "connector_models",
    "api_tokens",
    "auth_failures",
    "console_sign_ins",
    "console_sessions",
    "connector_uploads",
    "api_connections",
    "sign_on_states",
    "rate_slots",
];

/// Rows per `INSERT`: far below PostgreSQL's 65,535 parameters at the
/// widest table's 30-odd columns.
const COPY_CHUNK: usize = 500;

/// How a column's values are read and written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Integer,
    Boolean,
    Text,
    Bytes,
}

/// One value on its way from SQLite to PostgreSQL.
enum Value {
    Integer(Option<i64>),
    Boolean(Option<bool>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
}

/// One table's row count, the same on both sides after a copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopiedTable {
    /// The table's name.
    pub table: &'static str,
    /// Its rows, counted on the source and on the target.
    pub rows: i64,
}

impl Storage {
    /// Copies every row of this SQLite store into `target`, an empty
    /// PostgreSQL store at the same schema version. Returns each table's
    /// row count, compared on both sides.
    pub async fn copy_into(&self, target: &Storage) -> Result<Vec<CopiedTable>> {
        if self.engine != Engine::Sqlite || target.engine != Engine::Postgres {
            return Err(
                anyhow::anyhow!("a copy goes from a SQLite file to a PostgreSQL database").into(),
            );
        }
        let (from, to) = (self.schema_version().await?, target.schema_version().await?);
        if from != to {
            return Err(anyhow::anyhow!(
                "the SQLite file is at schema version {from} and the PostgreSQL database at {to}: open both with this seatwarden first"
            )
            .into());
        }
        let mut tx = target.write(Tenancy::AllTenants).await?;
        for table in TABLES {
            let rows = count(&mut *tx, table).await?;
            if rows > 0 {
                return Err(StoreError::Conflict(format!(
                    "the PostgreSQL database already holds data ({rows} {} in {table}): copy into a new, empty database",
                    if rows == 1 { "row" } else { "rows" }
                )));
            }
        }
        let mut copied = Vec::with_capacity(TABLES.len());
        for table in TABLES {
            let columns = self.columns(table).await?;
            let rows = copy_table(self, &mut tx, table, &columns)
                .await
                .with_context(|| format!("copying table {table}"))?;
            let source = count(&self.pool, table).await?;
            let landed = count(&mut *tx, table).await?;
            if source != rows || landed != rows {
                return Err(anyhow::anyhow!(
                    "table {table}: {source} rows in the SQLite file, {rows} read and {landed} in PostgreSQL (was the file written during the copy? stop every seatwarden using it and copy again)"
                )
                .into());
            }
            if columns.iter().any(|(name, _)| name == "id") {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM {table}"
                )))
                .execute(&mut *tx)
                .await?;
            }
            copied.push(CopiedTable { table, rows });
        }
        tx.commit().await?;
        Ok(copied)
    }

    /// A SQLite table's columns, in order, with how each is copied.
    async fn columns(&self, table: &str) -> Result<Vec<(String, Kind)>> {
        let rows = sqlx::query("SELECT name, type FROM pragma_table_info($1) ORDER BY cid")
            .bind(table)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let name: String = row.get("name");
                let declared: String = row.get("type");
                let kind = match declared.to_ascii_uppercase().as_str() {
                    "INTEGER" | "BIGINT" => Kind::Integer,
                    "BOOLEAN" => Kind::Boolean,
                    "TEXT" => Kind::Text,
                    "BLOB" => Kind::Bytes,
                    other => {
                        return Err(anyhow::anyhow!(
                            "column {table}.{name} has type {other}, which the copy does not know"
                        )
                        .into());
                    }
                };
                Ok((name, kind))
            })
            .collect()
    }
}

/// How many rows `table` holds.
async fn count<'e>(executor: impl sqlx::AnyExecutor<'e>, table: &str) -> Result<i64> {
    Ok(
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(executor)
            .await?,
    )
}

/// Copies `table`'s rows into the target transaction in chunks; returns
/// how many it read.
async fn copy_table(
    source: &Storage,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    table: &str,
    columns: &[(String, Kind)],
) -> Result<i64> {
    let selected: Vec<String> = columns
        .iter()
        .map(|(name, kind)| match kind {
            // The Any driver reads no column SQLite declares BOOLEAN.
            Kind::Boolean => format!("CAST({name} AS INTEGER) AS {name}"),
            _ => name.clone(),
        })
        .collect();
    let names: Vec<&str> = columns.iter().map(|(name, _)| name.as_str()).collect();
    let order = if names.contains(&"id") {
        " ORDER BY id"
    } else {
        ""
    };
    let sql = format!("SELECT {} FROM {table}{order}", selected.join(", "));
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&source.pool);
    let mut chunk: Vec<Vec<Value>> = Vec::with_capacity(COPY_CHUNK);
    let mut read = 0i64;
    while let Some(row) = rows.try_next().await? {
        let mut values = Vec::with_capacity(columns.len());
        for (i, (_, kind)) in columns.iter().enumerate() {
            values.push(match kind {
                Kind::Integer => Value::Integer(row.try_get(i)?),
                Kind::Boolean => Value::Boolean(row.try_get::<Option<i64>, _>(i)?.map(|v| v != 0)),
                Kind::Text => Value::Text(row.try_get(i)?),
                Kind::Bytes => Value::Bytes(row.try_get(i)?),
            });
        }
        chunk.push(values);
        read += 1;
        if chunk.len() == COPY_CHUNK {
            insert(tx, table, &names, std::mem::take(&mut chunk)).await?;
        }
    }
    if !chunk.is_empty() {
        insert(tx, table, &names, chunk).await?;
    }
    Ok(read)
}

async fn insert(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    table: &str,
    names: &[&str],
    rows: Vec<Vec<Value>>,
) -> Result<()> {
    // The target of a copy is always PostgreSQL (see `copy_into`).
    let mut statement = Statement::new(
        Engine::Postgres,
        format!("INSERT INTO {table} ({}) VALUES ", names.join(", ")),
    );
    for (n, values) in rows.into_iter().enumerate() {
        statement.push_row(n == 0, |row| {
            for value in values {
                match value {
                    Value::Integer(v) => row.bind(v),
                    Value::Boolean(v) => row.bind(v),
                    Value::Text(v) => row.bind(v),
                    Value::Bytes(v) => row.bind(v),
                };
            }
        });
    }
    statement.build().execute(&mut **tx).await?;
    Ok(())
}
