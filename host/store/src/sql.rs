//! Statements assembled at run time, with numbered placeholders, and the
//! engine a store runs on.
//!
//! Every statement in this crate is written once with `$1, $2, ...`, which
//! both SQLite and PostgreSQL accept. sqlx's `QueryBuilder` writes `?` for
//! its `Any` driver whatever engine is underneath, which PostgreSQL
//! rejects, so statements whose shape depends on a filter or on the number
//! of rows are built here, with the placeholder each engine binds fastest.

use sqlx::any::AnyArguments;
use sqlx::{Any, Arguments, Encode, Type};
use std::fmt::Write;

/// The database engine underneath a store, for the few statements whose
/// SQL must differ between them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// One file, the embedded default.
    Sqlite,
    /// A server that several hosts share.
    Postgres,
}

/// A statement under construction: SQL text and the values bound to it.
///
/// On PostgreSQL each value gets `$N`. On SQLite it gets a plain `?`, in
/// the same order: SQLite keeps `$N` (and `?N`) as *named* parameters and
/// sqlx asks for each one's name while binding, which SQLite answers by a
/// linear search; a 500-row upsert has 7,500 parameters, and that search
/// was about 70% of a sync's time (profiled on 2026-12-03).
pub(crate) struct Statement {
    sql: String,
    arguments: AnyArguments,
    engine: Engine,
}

impl Statement {
    pub(crate) fn new(engine: Engine, sql: impl Into<String>) -> Statement {
        Statement {
            sql: sql.into(),
            arguments: AnyArguments::default(),
            engine,
        }
    }

    /// Appends SQL text.
    pub(crate) fn push(&mut self, sql: impl std::fmt::Display) -> &mut Statement {
        let _ = write!(self.sql, "{sql}");
        self
    }

    /// Appends a placeholder and binds `value` to it.
    pub(crate) fn push_bind<'t, T>(&mut self, value: T) -> &mut Statement
    where
        T: Encode<'t, Any> + Type<Any>,
    {
        // Encoding into the `Any` buffer only copies the value: it cannot fail
        // for the integers, text and bytes this crate binds.
        self.arguments
            .add(value)
            .expect("a value the Any driver encodes");
        match self.engine {
            Engine::Sqlite => self.sql.push('?'),
            Engine::Postgres => {
                let _ = write!(self.sql, "${}", self.arguments.len());
            }
        }
        self
    }

    /// Appends the values of one row, `(v1, v2, ...)`, after a comma
    /// unless it is the first row of its `VALUES` list.
    pub(crate) fn push_row(
        &mut self,
        first: bool,
        bind: impl FnOnce(&mut Row<'_>),
    ) -> &mut Statement {
        self.push(if first { "(" } else { ", (" });
        bind(&mut Row {
            statement: self,
            first: true,
        });
        self.push(")")
    }

    /// The statement returning one column per row, ready to run.
    pub(crate) fn build_scalar<O>(self) -> sqlx::query::QueryScalar<'static, Any, O, AnyArguments>
    where
        (O,): for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        sqlx::query_scalar_with(sqlx::AssertSqlSafe(self.sql), self.arguments)
    }

    /// The statement, ready to run.
    pub(crate) fn build(self) -> sqlx::query::Query<'static, Any, AnyArguments> {
        sqlx::query_with(sqlx::AssertSqlSafe(self.sql), self.arguments)
    }
}

/// The values of one row of a `VALUES` list, comma-separated.
pub(crate) struct Row<'s> {
    statement: &'s mut Statement,
    first: bool,
}

impl Row<'_> {
    /// Binds the row's next value.
    pub(crate) fn bind<'t, T>(&mut self, value: T) -> &mut Self
    where
        T: Encode<'t, Any> + Type<Any>,
    {
        if !self.first {
            self.statement.push(", ");
        }
        self.first = false;
        self.statement.push_bind(value);
        self
    }
}
