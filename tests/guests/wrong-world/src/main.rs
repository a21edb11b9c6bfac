//! A valid component that is not a connector: a plain `wasi:cli` command.
//! The host must refuse to load it and say which world it expected.

fn main() {
    println!("I am a command-line program, not a Seatwarden connector.");
}
