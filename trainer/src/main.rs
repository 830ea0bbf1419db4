//! The `pgcnn` command: a thin wrapper around [`pgcnn::cli`].

fn main() -> std::process::ExitCode {
    pgcnn::cli::main()
}
