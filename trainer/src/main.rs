//! The `pgcnn` command: a thin wrapper around [`pgcnn::cli`].

/// The system allocator, counting live bytes: `pgcnn bench --config` reports the peak of
/// its timed steps from it (see `pgcnn::bench_model::memory`). The cost is two relaxed
/// atomic operations per allocation, nothing next to a tensor op.
#[global_allocator]
static ALLOCATOR: pgcnn::bench_model::CountingAlloc = pgcnn::bench_model::CountingAlloc;

fn main() -> std::process::ExitCode {
    pgcnn::heap_policy::keep_freed_memory();
    pgcnn::cli::main()
}
