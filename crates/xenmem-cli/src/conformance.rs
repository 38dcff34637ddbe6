//! stub
use crate::Failure;
#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(long)]
    out: Option<String>,
}
pub fn run(_p: bool, _a: &Args) -> Result<(), Failure> {
    Ok(())
}
