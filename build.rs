//! Rebuilds when a migration is added: `sqlx::migrate!` embeds the folder's files at compile
//! time, and cargo would not otherwise notice a new file in it. And links the release binary
//! with its relative relocations packed.

fn main() {
    println!("cargo:rerun-if-changed=src/store/migrations");
    println!("cargo:rerun-if-changed=src/store/postgres/migrations");
    // DT_RELR (GNU ld >= 2.38, glibc >= 2.36: Debian 12, the Dockerfile's base): the table the
    // loader applies at every start shrinks from 1.7 MB to 30 KB, and the daemon's idle RSS
    // by about 1 MB of the binary's pages. Release only: a debug build is not measured.
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    if var("PROFILE") == "release"
        && var("CARGO_CFG_TARGET_OS") == "linux"
        && var("CARGO_CFG_TARGET_ENV") == "gnu"
    {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
