//! stub
use crate::Failure;
#[derive(clap::Args, Debug)]
pub struct DomainArgs {
    domain: String,
}
#[derive(clap::Args, Debug)]
pub struct ResourceArgs {
    domain: String,
}
#[derive(clap::Args, Debug)]
pub struct FrameArgs {
    domain: String,
}
#[derive(clap::Args, Debug)]
pub struct WriteArgs {
    domain: String,
}
#[derive(clap::Subcommand, Debug)]
pub enum DomainCommand {
    Destroy { domain: String },
}
pub fn reservation(_p: bool, _j: bool, _a: &DomainArgs) -> Result<(), Failure> {
    Ok(())
}
pub fn resource(_p: bool, _j: bool, _a: &ResourceArgs) -> Result<(), Failure> {
    Ok(())
}
pub fn read_frame(_p: bool, _j: bool, _a: &FrameArgs) -> Result<(), Failure> {
    Ok(())
}
pub fn write_frame(_p: bool, _j: bool, _a: &WriteArgs) -> Result<(), Failure> {
    Ok(())
}
pub fn domain(_p: bool, _j: bool, _a: &DomainCommand) -> Result<(), Failure> {
    Ok(())
}
