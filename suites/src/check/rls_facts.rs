//! What the database probe reads as the server's (app) role, for the RLS gate.
//! Tables are found in the catalog, not by name: a tenant table is every
//! ordinary or partitioned table outside the system schemas that the role may
//! read or that carries a policy.

use uuid::Uuid;

/// Row-level-security facts read from the database as the server's role.
#[derive(Debug, Clone, Default)]
pub struct RlsFacts {
    pub role: String,
    pub superuser: bool,
    pub bypassrls: bool,
    /// Tables the role owns (or may act as owner of), in any non-system schema.
    pub owned_tables: Vec<String>,
    /// Every tenant table, schema-qualified.
    pub tables: Vec<TenantTable>,
    /// Defaults of `request.jwt.claims` in `pg_db_role_setting` that reach the role
    /// (`role`, `database`, `role in database`, `all roles`).
    pub claims_defaults: Vec<String>,
    /// `current_setting('request.jwt.claims', true)` on a fresh connection.
    pub claims_at_start: Option<String>,
    /// The same in a new transaction, on the same connection, after one that set claims.
    pub claims_after_transaction: Option<String>,
    /// What each claims set sees: one view per requested `sub`, then one with no claims.
    pub views: Vec<ClaimsView>,
}

/// A tenant table and its row-level security.
#[derive(Debug, Clone, Default)]
pub struct TenantTable {
    /// `schema.table`, quoted as needed.
    pub name: String,
    pub enabled: bool,
    pub forced: bool,
    /// The role may `SELECT` from it (else its rows cannot be scanned).
    pub selectable: bool,
    pub policies: Vec<Policy>,
}

/// One policy of a table, with its expressions as `pg_get_expr` prints them.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub name: String,
    /// Permissive policies are OR-ed: each one alone can open the table.
    pub permissive: bool,
    pub using: Option<String>,
    pub with_check: Option<String>,
    /// The definitions of the functions the policy calls (`pg_get_functiondef`
    /// of its `pg_depend` entries): a policy may read the claims through one.
    pub functions: Option<String>,
}

/// The rows one claims set sees in every readable tenant table.
#[derive(Debug, Clone, Default)]
pub struct ClaimsView {
    /// `None`: no claims at all.
    pub sub: Option<Uuid>,
    pub tables: Vec<SeenTable>,
}

/// One table as seen under some claims.
#[derive(Debug, Clone, Default)]
pub struct SeenTable {
    pub table: String,
    /// `count(*)`; 0 when the query was refused.
    pub count: u64,
    /// `row_to_json` of (a bounded number of) the rows, tsvector columns left out;
    /// bytea columns appear as `\x` hex.
    pub rows: Vec<String>,
    /// The query was refused (SQLSTATE only): no rows seen.
    pub refused: Option<String>,
}

impl RlsFacts {
    /// The view of `sub` (`None`: no claims).
    pub fn view(&self, sub: Option<Uuid>) -> Option<&ClaimsView> {
        self.views.iter().find(|v| v.sub == sub)
    }
}

impl ClaimsView {
    /// Tables (and how many of their rows) whose row text contains `needle`.
    pub fn tables_containing(&self, needle: &str) -> Vec<String> {
        self.tables
            .iter()
            .filter_map(|t| {
                let n = t.rows.iter().filter(|r| r.contains(needle)).count();
                (n > 0).then(|| format!("{} ({n} row(s))", t.table))
            })
            .collect()
    }

    /// Rows seen in total.
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.count).sum()
    }
}
