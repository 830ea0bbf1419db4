// Data movement: permutes (general gather and tiled batched transpose), row copies
// (concat, slices), index_select and index_add.

// Output dimensions and the input stride of each output axis, innermost last.
// Layout-compatible with `GatherArgs<I>` in layout.rs.
template <typename I>
struct Gather {
    I dims[MAX_RANK];
    I src[MAX_RANK];
    I rank;
};

template <typename T, typename I>
__device__ void permute_body(const T* x, T* y, I n, const Gather<I>& l) {
    const I stride = (I)gridDim.x * blockDim.x;
    for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        I rem = i, off = 0;
        for (int d = (int)l.rank - 1; d >= 0; --d) {
            const I q = rem / l.dims[d];
            off += (rem - q * l.dims[d]) * l.src[d];
            rem = q;
        }
        y[i] = x[off];
    }
}

// x [batch, rows, cols] -> y [batch, cols, rows] through a TILE x (TILE+1) shared tile, so
// that both the reads and the writes are coalesced. Block (TILE, TILE_ROWS).
template <typename T>
__device__ void transpose_body(const T* x, T* y, u64 batch, u32 rows, u32 cols,
                               T (*tile)[TILE + 1]) {
    for (u64 b = blockIdx.z; b < batch; b += gridDim.z) {
        const T* xb = x + b * rows * cols;
        T* yb = y + b * rows * cols;
        for (u32 r0 = blockIdx.y * TILE; r0 < rows; r0 += gridDim.y * TILE) {
            for (u32 c0 = blockIdx.x * TILE; c0 < cols; c0 += gridDim.x * TILE) {
                const u32 c = c0 + threadIdx.x;
                for (u32 k = threadIdx.y; k < TILE; k += TILE_ROWS) {
                    const u32 r = r0 + k;
                    if (r < rows && c < cols) tile[k][threadIdx.x] = xb[(u64)r * cols + c];
                }
                __syncthreads();
                const u32 r = r0 + threadIdx.x;
                for (u32 k = threadIdx.y; k < TILE; k += TILE_ROWS) {
                    const u32 cc = c0 + k;
                    if (r < rows && cc < cols) yb[(u64)cc * rows + r] = tile[threadIdx.x][k];
                }
                __syncthreads();
            }
        }
    }
}

// y[r * dst_stride + j] = x[r * src_stride + j] for r < rows, j < row_len.
template <typename T>
__device__ void copy_rows_body(const T* x, u64 src_stride, T* y, u64 dst_stride, u64 rows,
                               u64 row_len) {
    for (u64 t = GRID_START; t < rows * row_len; t += GRID_STRIDE) {
        const u64 r = t / row_len;
        const u64 j = t - r * row_len;
        y[r * dst_stride + j] = x[r * src_stride + j];
    }
}

// y[o, i, n] = x[o, idx[i], n]; x is [outer, len, inner], y [outer, nidx, inner].
template <typename T>
__device__ void index_select_body(const T* x, T* y, const u32* idx, u64 outer, u64 len,
                                  u64 nidx, u64 inner) {
    for (u64 t = GRID_START; t < outer * nidx * inner; t += GRID_STRIDE) {
        const u64 n = t % inner;
        const u64 r = t / inner;
        const u64 i = r % nidx;
        const u64 o = r / nidx;
        y[t] = x[(o * len + idx[i]) * inner + n];
    }
}

// y[o, d, n] = the sum of src[o, i, n] over the i with idx[i] == d, in increasing i, from
// zero (0 where there are none): the reference's order of additions, so the sums are its
// bit for bit, and no atomics, so they do not depend on scheduling. `sources` lists the i
// of destination d at sources[starts[d] .. starts[d + 1]], ascending; every y is written.
template <typename T>
__device__ void index_add_body(const T* src, T* y, const u32* starts, const u32* sources,
                               u64 outer, u64 len, u64 nidx, u64 inner) {
    for (u64 t = GRID_START; t < outer * len * inner; t += GRID_STRIDE) {
        const u64 n = t % inner;
        const u64 r = t / inner;
        const u64 d = r % len;
        const u64 o = r / len;
        const T* from = src + o * nidx * inner + n;
        T acc = T(0);
        for (u32 k = starts[d]; k < starts[d + 1]; ++k) acc += from[(u64)sources[k] * inner];
        y[t] = acc;
    }
}

#define LAYOUT_KERNELS(T, S)                                                                     \
    extern "C" __global__ void permute_i32_##S(const T* x, T* y, u32 n, Gather<u32> l) {         \
        permute_body<T, u32>(x, y, n, l);                                                        \
    }                                                                                            \
    extern "C" __global__ void permute_i64_##S(const T* x, T* y, u64 n, Gather<u64> l) {         \
        permute_body<T, u64>(x, y, n, l);                                                        \
    }                                                                                            \
    extern "C" __global__ void transpose_##S(const T* x, T* y, u64 batch, u32 rows, u32 cols) {  \
        __shared__ T tile[TILE][TILE + 1];                                                       \
        transpose_body<T>(x, y, batch, rows, cols, tile);                                        \
    }                                                                                            \
    extern "C" __global__ void copy_rows_##S(const T* x, u64 src_stride, T* y, u64 dst_stride,   \
                                             u64 rows, u64 row_len) {                            \
        copy_rows_body<T>(x, src_stride, y, dst_stride, rows, row_len);                          \
    }                                                                                            \
    extern "C" __global__ void index_select_##S(const T* x, T* y, const u32* idx, u64 outer,     \
                                                u64 len, u64 nidx, u64 inner) {                  \
        index_select_body<T>(x, y, idx, outer, len, nidx, inner);                                \
    }                                                                                            \
    extern "C" __global__ void index_add_##S(const T* src, T* y, const u32* starts,             \
                                             const u32* sources, u64 outer, u64 len, u64 nidx,   \
                                             u64 inner) {                                        \
        index_add_body<T>(src, y, starts, sources, outer, len, nidx, inner);                     \
    }

FOR_EACH_ELEMENT(LAYOUT_KERNELS)
