//! Runs the kernel benchmark and prints its table.
//!
//! `cargo run --release -p pgcnn --example kernel_bench -- [repetitions] [shape filter]`;
//! the thread count is rayon's (`RAYON_NUM_THREADS`, else the number of CPUs).

use pgcnn::bench::{kernel_bench, KernelBenchOptions};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut opts = KernelBenchOptions::default();
    if let Some(reps) = args.next() {
        opts.repetitions = reps.parse()?;
    }
    opts.conv_filter = args.next();
    kernel_bench(&opts, &mut std::io::stdout())?;
    Ok(())
}
