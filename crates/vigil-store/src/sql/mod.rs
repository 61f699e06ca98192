//! The one SQL layer both backends share: arguments, rows, the transaction trait, and the rules
//! that turn the SQL written in this crate into each backend's dialect.
//!
//! Queries are written once, in PostgreSQL's dialect restricted to what SQLite also understands
//! (`$N` placeholders, `ON CONFLICT … DO UPDATE/NOTHING`, `RETURNING`, `CAST(x AS BIGINT)`).
//! [`Dialect::rewrite`] makes the few changes SQLite needs: `$N` becomes `?N`, `GREATEST(` and
//! `LEAST(` become SQLite's two-argument `MAX(` and `MIN(` (so both arguments must be non-NULL:
//! wrap nullable ones in `COALESCE`), and row locks (`FOR UPDATE [SKIP LOCKED]`) are dropped
//! because SQLite's single writer already serialises every write transaction.

pub(crate) mod postgres;
pub(crate) mod sqlite;

use crate::{Result, StoreError};
use async_trait::async_trait;
use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

/// The backends' SQL dialects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The statement as this backend reads it.
    pub fn rewrite(self, sql: &str) -> Cow<'_, str> {
        match self {
            Dialect::Postgres => Cow::Borrowed(sql),
            Dialect::Sqlite => Cow::Owned(to_sqlite(sql)),
        }
    }
}

fn to_sqlite(sql: &str) -> String {
    let sql = sql
        .replace(" FOR UPDATE SKIP LOCKED", "")
        .replace(" FOR UPDATE", "")
        .replace("GREATEST(", "MAX(")
        .replace("LEAST(", "MIN(");
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

/// A value bound to a placeholder. Borrowed, so binding copies nothing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arg<'a> {
    Null,
    Int(i64),
    Text(&'a str),
    Bytes(&'a [u8]),
    Bool(bool),
}

impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}
impl From<u64> for Arg<'_> {
    fn from(v: u64) -> Self {
        Arg::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<bool> for Arg<'_> {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}
impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Text(v)
    }
}
impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Arg::Text(v)
    }
}
impl<'a> From<&'a [u8]> for Arg<'a> {
    fn from(v: &'a [u8]) -> Self {
        Arg::Bytes(v)
    }
}
impl<'a> From<&'a Vec<u8>> for Arg<'a> {
    fn from(v: &'a Vec<u8>) -> Self {
        Arg::Bytes(v)
    }
}
impl From<Option<i64>> for Arg<'_> {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Arg::Null, Arg::Int)
    }
}
impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(v: Option<&'a str>) -> Self {
        v.map_or(Arg::Null, Arg::Text)
    }
}
impl<'a> From<&'a Option<String>> for Arg<'a> {
    fn from(v: &'a Option<String>) -> Self {
        v.as_deref().map_or(Arg::Null, Arg::Text)
    }
}

/// An owned argument, for queries whose arguments are built at run time (list filters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedArg {
    Int(i64),
    Text(String),
}

impl OwnedArg {
    pub fn as_arg(&self) -> Arg<'_> {
        match self {
            OwnedArg::Int(i) => Arg::Int(*i),
            OwnedArg::Text(t) => Arg::Text(t),
        }
    }
}

/// A `WHERE` clause built from optional filters, with its arguments in placeholder order.
#[derive(Debug, Default)]
pub(crate) struct Where {
    clauses: Vec<String>,
    pub args: Vec<OwnedArg>,
}

impl Where {
    /// Adds `clause`, whose `#` stands for the argument's placeholder.
    pub fn add(&mut self, clause: &str, arg: OwnedArg) {
        self.args.push(arg);
        self.clauses
            .push(clause.replace('#', &format!("${}", self.args.len())));
    }

    /// `column` contains `text`, case-insensitively, LIKE wildcards in it matched literally.
    pub fn contains(&mut self, column: &str, text: &str) {
        let escaped = text
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        self.add(
            &format!("LOWER({column}) LIKE # ESCAPE '\\'"),
            OwnedArg::Text(format!("%{escaped}%")),
        );
    }

    /// The next placeholder's number.
    pub fn next(&self) -> usize {
        self.args.len() + 1
    }

    pub fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        }
    }

    /// The arguments, followed by `more`.
    pub fn with<'a>(&'a self, more: &[Arg<'a>]) -> Vec<Arg<'a>> {
        self.args
            .iter()
            .map(OwnedArg::as_arg)
            .chain(more.iter().copied())
            .collect()
    }
}

/// `args![a, b, c]`: a slice of [`Arg`]s from anything that converts.
macro_rules! args {
    ($($a:expr),* $(,)?) => {
        &[$($crate::sql::Arg::from($a)),*][..]
    };
}
pub(crate) use args;

/// A column value read back.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
    Bool(bool),
}

/// One result row, read column by column in `SELECT` order.
#[derive(Debug, Clone)]
pub struct Row {
    values: std::vec::IntoIter<Value>,
    column: usize,
}

impl Row {
    pub(crate) fn new(values: Vec<Value>) -> Row {
        Row {
            values: values.into_iter(),
            column: 0,
        }
    }

    fn next(&mut self, want: &'static str) -> Result<(usize, Value)> {
        let i = self.column;
        self.column += 1;
        self.values
            .next()
            .map(|v| (i, v))
            .ok_or_else(|| StoreError::Decode(format!("column {i}: missing ({want} expected)")))
    }

    fn mismatch(i: usize, want: &str, got: &Value) -> StoreError {
        StoreError::Decode(format!("column {i}: {want} expected, found {got:?}"))
    }

    pub fn opt_int(&mut self) -> Result<Option<i64>> {
        match self.next("integer")? {
            (_, Value::Null) => Ok(None),
            (_, Value::Int(v)) => Ok(Some(v)),
            (_, Value::Bool(b)) => Ok(Some(i64::from(b))),
            (i, other) => Err(Self::mismatch(i, "integer", &other)),
        }
    }

    pub fn int(&mut self) -> Result<i64> {
        let i = self.column;
        self.opt_int()?
            .ok_or_else(|| StoreError::Decode(format!("column {i}: integer expected, found NULL")))
    }

    pub fn opt_text(&mut self) -> Result<Option<String>> {
        match self.next("text")? {
            (_, Value::Null) => Ok(None),
            (_, Value::Text(v)) => Ok(Some(v)),
            (i, other) => Err(Self::mismatch(i, "text", &other)),
        }
    }

    pub fn text(&mut self) -> Result<String> {
        let i = self.column;
        self.opt_text()?
            .ok_or_else(|| StoreError::Decode(format!("column {i}: text expected, found NULL")))
    }

    pub fn bytes(&mut self) -> Result<Vec<u8>> {
        match self.next("bytes")? {
            (_, Value::Bytes(v)) => Ok(v),
            (i, other) => Err(Self::mismatch(i, "bytes", &other)),
        }
    }

    /// SQLite keeps booleans as 0 and 1.
    pub fn bool(&mut self) -> Result<bool> {
        match self.next("boolean")? {
            (_, Value::Bool(b)) => Ok(b),
            (_, Value::Int(v)) => Ok(v != 0),
            (i, other) => Err(Self::mismatch(i, "boolean", &other)),
        }
    }
}

/// A column's type, for [`Tx::insert_many`] (PostgreSQL binds each column as one typed array).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlType {
    Int,
    Text,
}

/// A column of [`Tx::insert_many`].
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub ty: SqlType,
}

/// One transaction (or, for reads, one connection) of a backend. Every query of the store is an
/// `async fn` over `&mut dyn Tx`, written once; the backends implement only these methods.
///
/// Inside a transaction, code awaits nothing but this trait's methods: SQLite runs the whole
/// transaction on one blocking thread and polls it once, so any other await fails the
/// transaction with [`StoreError::Task`].
#[async_trait]
pub trait Tx: Send {
    fn dialect(&self) -> Dialect;
    /// Runs a statement; returns how many rows it changed.
    async fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64>;
    async fn query(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<Row>>;
    /// Inserts rows that share `fixed` leading values (e.g. host id and batch number) and differ
    /// in `columns`, as one statement where the backend can.
    async fn insert_many(
        &mut self,
        table: &str,
        fixed: &[(&str, Arg<'_>)],
        columns: &[Column],
        rows: &[Vec<Arg<'_>>],
    ) -> Result<u64>;

    /// Serialises transactions that name the same `key` until they end (across servers on
    /// PostgreSQL; SQLite's single writer already does).
    async fn lock(&mut self, key: &str) -> Result<()>;

    async fn query_opt(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Option<Row>> {
        Ok(self.query(sql, args).await?.into_iter().next())
    }

    async fn query_one(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Row> {
        self.query_opt(sql, args)
            .await?
            .ok_or_else(|| StoreError::Decode(format!("no row from: {sql}")))
    }
}

/// A boxed future borrowing the transaction.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Work to run in one transaction: called once with the transaction, its future awaited.
pub type TxWork<T> = Box<dyn for<'a> FnOnce(&'a mut dyn Tx) -> BoxFuture<'a, Result<T>> + Send>;

/// Boxes a closure as [`TxWork`] (the explicit signature helps inference of the higher-ranked
/// lifetime).
pub fn work<T, F>(f: F) -> TxWork<T>
where
    F: for<'a> FnOnce(&'a mut dyn Tx) -> BoxFuture<'a, Result<T>> + Send + 'static,
{
    Box::new(f)
}

/// Counts statements and fails the one a test armed, so that a failure can be injected between
/// any two statements of an operation (see [`crate::testing::Faults`]).
#[derive(Debug, Default)]
pub struct FaultCounter {
    /// Statements still allowed before the next fails; negative when disarmed.
    left: std::sync::atomic::AtomicI64,
    /// Statements run so far, failed ones included.
    executed: std::sync::atomic::AtomicU64,
}

impl FaultCounter {
    pub fn disarmed() -> FaultCounter {
        FaultCounter {
            left: std::sync::atomic::AtomicI64::new(-1),
            executed: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The `n`th statement from now (1 = the next) fails; later ones succeed again.
    pub fn fail_nth(&self, n: u64) {
        let n = i64::try_from(n.max(1)).unwrap_or(i64::MAX);
        self.left.store(n, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn disarm(&self) {
        self.left.store(-1, std::sync::atomic::Ordering::SeqCst);
    }

    /// Statements run through this store so far (to learn how many an operation takes).
    pub fn executed(&self) -> u64 {
        self.executed.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub(crate) fn check(&self) -> Result<()> {
        use std::sync::atomic::Ordering;
        self.executed.fetch_add(1, Ordering::SeqCst);
        if self.left.load(Ordering::SeqCst) < 0 {
            return Ok(());
        }
        if self.left.fetch_sub(1, Ordering::SeqCst) == 1 {
            return Err(StoreError::Injected);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_rewrite() {
        assert_eq!(
            Dialect::Sqlite.rewrite(
                "UPDATE h SET s = GREATEST(COALESCE(s, 0), $2) WHERE id = $1 AND x IN \
                 (SELECT id FROM o WHERE n <= $10 FOR UPDATE SKIP LOCKED) AND LEAST($3, $4) > 0"
            ),
            "UPDATE h SET s = MAX(COALESCE(s, 0), ?2) WHERE id = ?1 AND x IN \
             (SELECT id FROM o WHERE n <= ?10) AND MIN(?3, ?4) > 0"
        );
        assert_eq!(
            Dialect::Sqlite.rewrite("SELECT 1 FROM t WHERE id = $1 FOR UPDATE"),
            "SELECT 1 FROM t WHERE id = ?1"
        );
        let pg = "SELECT $1 FOR UPDATE";
        assert!(matches!(Dialect::Postgres.rewrite(pg), Cow::Borrowed(s) if s == pg));
    }

    #[test]
    fn rows_decode_in_order_and_say_what_is_wrong() {
        let mut r = Row::new(vec![
            Value::Int(1),
            Value::Null,
            Value::Text("x".into()),
            Value::Int(1),
            Value::Text("y".into()),
        ]);
        assert_eq!(r.int().unwrap(), 1);
        assert_eq!(r.opt_text().unwrap(), None);
        assert_eq!(r.text().unwrap(), "x");
        assert!(r.bool().unwrap());
        let e = r.int().unwrap_err().to_string();
        assert!(e.contains("column 4: integer expected"), "{e}");
        assert!(r.text().unwrap_err().to_string().contains("missing"));
    }

    #[test]
    fn faults_fail_exactly_the_armed_statement() {
        let f = FaultCounter::disarmed();
        assert!(f.check().is_ok());
        f.fail_nth(3);
        assert!(f.check().is_ok());
        assert!(f.check().is_ok());
        assert!(matches!(f.check(), Err(StoreError::Injected)));
        for _ in 0..5 {
            assert!(f.check().is_ok());
        }
    }
}
