//! Run store: runs, issues and outcomes in SQLite (sqlx, migrations).
