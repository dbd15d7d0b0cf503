// `sqlx::migrate!` embeds ../migrations at compile time, but a proc macro cannot tell
// cargo to rebuild when a migration file is added: this does.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
