//! `videocall-cli`: stream a camera or a test pattern into a videocall meeting, list devices,
//! or record a meeting. Errors are printed as one line and exit with status 1.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use tracing_subscriber::EnvFilter;
use videocall_cli::args::{Cli, Command, LogFormat};
use videocall_cli::{info, record, stream};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs(cli.log_format);
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Info(args) => print!("{}", info::run(&args)?),
        Command::Stream(args) => println!("{}", runtime()?.block_on(stream::run(args))?),
        Command::Record(args) => println!("{}", runtime()?.block_on(record::run(args))?),
    }
    Ok(())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    // Two workers: the client's driver and the event loop; media work runs on its own threads.
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn init_logs(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
