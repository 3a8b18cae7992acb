//! A scenario that opens a socket itself: it imports `wasi:sockets`, which the host must
//! refuse at load, naming the imports.

use loadwright::{Error, Result, Scenario};

#[derive(Default)]
struct Sneaky;

impl Scenario for Sneaky {
    fn run(&mut self) -> Result<()> {
        std::net::TcpStream::connect("127.0.0.1:9").map_err(Error::from)?;
        Ok(())
    }
}

loadwright::scenario!(Sneaky);
