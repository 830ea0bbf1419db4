// Reductions of the middle axis of [outer, len, inner]. Long axes are split into chunks
// reduced in a first pass (output [outer, nchunks, inner]) and a second pass over the
// chunks, so that short outputs still fill the GPU. chunk >= 1 and nchunks = ceil(len/chunk).

template <typename T>
__device__ __forceinline__ T reduce_apply(int op, T acc, T v) {
    switch (op) {
        case ROP_SUM: return acc + v;
        case ROP_MAX: return k_fmax(acc, v);
        case ROP_MIN: return k_fmin(acc, v);
    }
    return acc;
}

// inner == 1: one block per (row, chunk), threads stride along the contiguous chunk, then a
// tree in shared memory. blockDim.x is a power of two, at most REDUCE_BLOCK.
template <typename T>
__device__ void reduce_rows_body(const T* x, T* y, u64 outer, u64 len, u64 nchunks, u64 chunk,
                                 int op, T* buf) {
    const u32 tid = threadIdx.x;
    for (u64 blk = blockIdx.x; blk < outer * nchunks; blk += gridDim.x) {
        const u64 o = blk / nchunks;
        const u64 c = blk - o * nchunks;
        const u64 start = c * chunk;
        const u64 end = min(len, start + chunk);
        const T* row = x + o * len;
        // Max and min are idempotent, so a thread with nothing to read may start from an
        // element that another thread also reads; a sum starts from zero.
        T acc = op == ROP_SUM ? T(0) : row[start];
        for (u64 j = start + tid; j < end; j += blockDim.x) acc = reduce_apply<T>(op, acc, row[j]);
        buf[tid] = acc;
        __syncthreads();
        for (u32 s = blockDim.x / 2; s > 0; s >>= 1) {
            if (tid < s) buf[tid] = reduce_apply<T>(op, buf[tid], buf[tid + s]);
            __syncthreads();
        }
        if (tid == 0) y[blk] = buf[0];
        __syncthreads();
    }
}

// inner > 1: one thread per (o, chunk, i) walking its chunk in order; neighbouring threads
// read neighbouring addresses. With one chunk the order is the reference's.
template <typename T>
__device__ void reduce_cols_body(const T* x, T* y, u64 outer, u64 len, u64 inner, u64 nchunks,
                                 u64 chunk, int op) {
    const u64 total = outer * nchunks * inner;
    for (u64 t = GRID_START; t < total; t += GRID_STRIDE) {
        const u64 i = t % inner;
        const u64 oc = t / inner;
        const u64 c = oc % nchunks;
        const u64 o = oc / nchunks;
        const u64 start = c * chunk;
        const u64 end = min(len, start + chunk);
        const T* p = x + (o * len + start) * inner + i;
        T acc = p[0];
        for (u64 j = start + 1; j < end; ++j) {
            p += inner;
            acc = reduce_apply<T>(op, acc, *p);
        }
        y[t] = acc;
    }
}

#define REDUCE_KERNELS(T, S)                                                                     \
    extern "C" __global__ void reduce_rows_##S(const T* x, T* y, u64 outer, u64 len, u64 nchunks, \
                                               u64 chunk, int op) {                              \
        __shared__ T buf[REDUCE_BLOCK];                                                          \
        reduce_rows_body<T>(x, y, outer, len, nchunks, chunk, op, buf);                          \
    }                                                                                            \
    extern "C" __global__ void reduce_cols_##S(const T* x, T* y, u64 outer, u64 len, u64 inner,  \
                                               u64 nchunks, u64 chunk, int op) {                 \
        reduce_cols_body<T>(x, y, outer, len, inner, nchunks, chunk, op);                        \
    }

FOR_EACH_ELEMENT(REDUCE_KERNELS)
