//! Rebuilds the server when a migration is added, changed or removed: `embed_migrations!`
//! reads `../migrations` at compile time, and cargo would not otherwise notice a new
//! migration directory (the server would keep embedding the old list).
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
