//! Rebuilds when a migration is added: `sqlx::migrate!` embeds the folder's files at compile
//! time, and cargo would not otherwise notice a new file in it.

fn main() {
    println!("cargo:rerun-if-changed=src/store/migrations");
    println!("cargo:rerun-if-changed=src/store/postgres/migrations");
}
