// The emulator's launch: unpacks the parameter pointers with the kernel's own parameter
// types (as cuLaunchKernel does) and runs the grid.
namespace emu {

template <typename... A, std::size_t... I>
static void call(void (*f)(A...), void** p, std::index_sequence<I...>) {
    f(*static_cast<A*>(p[I])...);
}

template <typename... A>
static int run(void (*f)(A...), bool syncs, const unsigned* g, const unsigned* b, void** p) {
    gridDim = {g[0], g[1], g[2]};
    blockDim = {b[0], b[1], b[2]};
    const unsigned threads = b[0] * b[1] * b[2];
    for (unsigned bz = 0; bz < g[2]; ++bz)
        for (unsigned by = 0; by < g[1]; ++by)
            for (unsigned bx = 0; bx < g[0]; ++bx) {
                const emu_dim3 block{bx, by, bz};
                auto thread = [&, block](unsigned t) {
                    blockIdx = block;
                    threadIdx = {t % b[0], (t / b[0]) % b[1], t / (b[0] * b[1])};
                    call(f, p, std::index_sequence_for<A...>{});
                };
                if (!syncs) {
                    for (unsigned t = 0; t < threads; ++t) thread(t);
                    continue;
                }
                std::barrier<> bar(threads);
                emu_barrier = &bar;
                std::vector<std::thread> pool;
                pool.reserve(threads);
                for (unsigned t = 0; t < threads; ++t) pool.emplace_back(thread, t);
                for (auto& th : pool) th.join();
                emu_barrier = nullptr;
            }
    return 0;
}

}  // namespace emu
