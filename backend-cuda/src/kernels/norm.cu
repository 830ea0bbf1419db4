// Fused per-channel normalisation of [outer, channels, inner] (batch, layer and instance
// norm), forward and backward, in three launches each (ops/norm.rs):
//
//   1. norm_sums: two sums per (channel, chunk) of the channel's outer*inner values, in
//      double, one block each, reduced in a fixed tree (deterministic). The forward sums
//      x - K and (x - K)^2 with K the channel's first value (a shifted one-pass variance,
//      as the CPU backend); the backward sums dy and dy * (x - mean).
//   2. norm_finish_*: one thread per channel adds its chunks' sums in order and derives
//      the statistics and per-channel coefficients, in double.
//   3. norm_apply_*: the elementwise write, in T, from the coefficients.
//
// Chunks let few channels with many values each (batch norm) still fill the GPU.

// Layout-compatible with `NormDims` in ops/norm.rs. Each channel's count = outer * inner
// values are split into nchunks chunks of `chunk` values (the last may be shorter), in
// (outer, inner) order.
struct NormDims {
    u64 outer;
    u64 channels;
    u64 inner;
    u64 nchunks;
    u64 chunk;
};

// One block per (channel, chunk), threads striding over the chunk; partial[2 * blk] and
// partial[2 * blk + 1] get the block's two sums. blockDim.x is a power of two, at most
// REDUCE_BLOCK; buf holds 2 * blockDim.x doubles.
template <typename T, bool BACKWARD>
__device__ void norm_sums_body(const T* x, const T* dy, const T* mean, double* partial,
                               NormDims d, double* buf) {
    const u32 tid = threadIdx.x;
    const u64 count = d.outer * d.inner;
    const u64 row_stride = d.channels * d.inner;
    // A thread's flat index j = o * inner + i advances by blockDim.x per step: in (o, i),
    // by (step_o, step_i) and a carry, without a division per element.
    const u64 step_o = blockDim.x / d.inner;
    const u64 step_i = blockDim.x - step_o * d.inner;
    for (u64 blk = blockIdx.x; blk < d.channels * d.nchunks; blk += gridDim.x) {
        const u64 c = blk / d.nchunks;
        const u64 start = (blk - c * d.nchunks) * d.chunk;
        const u64 end = min(count, start + d.chunk);
        const T* xc = x + c * d.inner;
        const T* gc = BACKWARD ? dy + c * d.inner : xc;
        const double shift = BACKWARD ? (double)mean[c] : (double)xc[0];
        double s = 0.0, q = 0.0;
        u64 j = start + tid;
        u64 o = j / d.inner;
        u64 i = j - o * d.inner;
        for (; j < end; j += blockDim.x) {
            const u64 at = o * row_stride + i;
            const double v = (double)xc[at] - shift;
            if (BACKWARD) {
                const double g = (double)gc[at];
                s += g;
                q += g * v;
            } else {
                s += v;
                q += v * v;
            }
            i += step_i;
            o += step_o;
            if (i >= d.inner) {
                i -= d.inner;
                ++o;
            }
        }
        buf[tid] = s;
        buf[blockDim.x + tid] = q;
        __syncthreads();
        for (u32 h = blockDim.x / 2; h > 0; h >>= 1) {
            if (tid < h) {
                buf[tid] += buf[tid + h];
                buf[blockDim.x + tid] += buf[blockDim.x + tid + h];
            }
            __syncthreads();
        }
        if (tid == 0) {
            partial[2 * blk] = buf[0];
            partial[2 * blk + 1] = buf[blockDim.x];
        }
        __syncthreads();
    }
}

// Channel c's two sums over its chunks, added in chunk order.
__device__ __forceinline__ void norm_channel_sums(const double* partial, NormDims d, u64 c,
                                                  double* s, double* q) {
    double a = 0.0, b = 0.0;
    for (u64 k = 0; k < d.nchunks; ++k) {
        a += partial[2 * (c * d.nchunks + k)];
        b += partial[2 * (c * d.nchunks + k) + 1];
    }
    *s = a;
    *q = b;
}

// mean, var, rstd per channel, and coef[2c], coef[2c+1] = the scale rstd * gamma and the
// shift beta of y = (x - mean) * scale + shift. gamma and beta are both null or both set.
template <typename T>
__device__ void norm_finish_forward_body(const double* partial, const T* x, const T* gamma,
                                         const T* beta, T* mean, T* var, T* rstd, T* coef,
                                         NormDims d, double eps) {
    const double n = (double)(d.outer * d.inner);
    for (u64 c = GRID_START; c < d.channels; c += GRID_STRIDE) {
        double s, q;
        norm_channel_sums(partial, d, c, &s, &q);
        const double dm = s / n;
        // Rounding can leave a tiny negative difference for constant channels.
        const double v = fmax(q / n - dm * dm, 0.0);
        const double r = 1.0 / sqrt(v + eps);
        const double g = gamma ? (double)gamma[c] : 1.0;
        const double b = beta ? (double)beta[c] : 0.0;
        mean[c] = (T)((double)x[c * d.inner] + dm);
        var[c] = (T)v;
        rstd[c] = (T)r;
        coef[2 * c] = (T)(r * g);
        coef[2 * c + 1] = (T)b;
    }
}

// dgamma = rstd * sum(dy * (x - mean)), dbeta = sum(dy) per channel, and coef[3c..3c+3] =
// (k, a, b) of dx = k * (dy - a - (x - mean) * b): k = gamma * rstd, a = dbeta / n,
// b = rstd * dgamma / n (xhat * dgamma / n with xhat unfolded). gamma may be null.
template <typename T>
__device__ void norm_finish_backward_body(const double* partial, const T* rstd, const T* gamma,
                                          T* dgamma, T* dbeta, T* coef, NormDims d) {
    const double n = (double)(d.outer * d.inner);
    for (u64 c = GRID_START; c < d.channels; c += GRID_STRIDE) {
        double s1, s2;
        norm_channel_sums(partial, d, c, &s1, &s2);
        const double r = (double)rstd[c];
        const double g = gamma ? (double)gamma[c] : 1.0;
        const double dg = s2 * r;
        dgamma[c] = (T)dg;
        dbeta[c] = (T)s1;
        coef[3 * c] = (T)(g * r);
        coef[3 * c + 1] = (T)(s1 / n);
        coef[3 * c + 2] = (T)(r * dg / n);
    }
}

// The elementwise writes, with index type I (32 bits when n < 2^31: one division less
// costly per element; the grid stride cannot wrap then).
template <typename T, typename I>
__device__ void norm_apply_forward_body(const T* x, const T* mean, const T* coef, T* y, I n,
                                        I channels, I inner) {
    for (I t = (I)GRID_START; t < n; t += (I)GRID_STRIDE) {
        const I c = (t / inner) % channels;
        y[t] = (x[t] - mean[c]) * coef[2 * c] + coef[2 * c + 1];
    }
}

template <typename T, typename I>
__device__ void norm_apply_backward_body(const T* dy, const T* x, const T* mean, const T* coef,
                                         T* dx, I n, I channels, I inner) {
    for (I t = (I)GRID_START; t < n; t += (I)GRID_STRIDE) {
        const I c = (t / inner) % channels;
        dx[t] = coef[3 * c] * (dy[t] - coef[3 * c + 1] - (x[t] - mean[c]) * coef[3 * c + 2]);
    }
}

#define NORM_SMALL(n) ((n) < (1ull << 31))

#define NORM_KERNELS(T, S)                                                                       \
    extern "C" __global__ void norm_sums_##S(const T* x, const T* dy, const T* mean,             \
                                             double* partial, NormDims d) {                      \
        __shared__ double buf[2 * REDUCE_BLOCK];                                                 \
        if (dy) norm_sums_body<T, true>(x, dy, mean, partial, d, buf);                           \
        else norm_sums_body<T, false>(x, dy, mean, partial, d, buf);                             \
    }                                                                                            \
    extern "C" __global__ void norm_finish_forward_##S(                                          \
        const double* partial, const T* x, const T* gamma, const T* beta, T* mean, T* var,       \
        T* rstd, T* coef, NormDims d, double eps) {                                              \
        norm_finish_forward_body<T>(partial, x, gamma, beta, mean, var, rstd, coef, d, eps);     \
    }                                                                                            \
    extern "C" __global__ void norm_finish_backward_##S(const double* partial, const T* rstd,    \
                                                        const T* gamma, T* dgamma, T* dbeta,     \
                                                        T* coef, NormDims d) {                   \
        norm_finish_backward_body<T>(partial, rstd, gamma, dgamma, dbeta, coef, d);              \
    }                                                                                            \
    extern "C" __global__ void norm_apply_forward_##S(const T* x, const T* mean, const T* coef,  \
                                                      T* y, u64 n, u64 channels, u64 inner) {    \
        if (NORM_SMALL(n))                                                                       \
            norm_apply_forward_body<T, u32>(x, mean, coef, y, (u32)n, (u32)channels, (u32)inner);\
        else norm_apply_forward_body<T, u64>(x, mean, coef, y, n, channels, inner);              \
    }                                                                                            \
    extern "C" __global__ void norm_apply_backward_##S(const T* dy, const T* x, const T* mean,   \
                                                       const T* coef, T* dx, u64 n,              \
                                                       u64 channels, u64 inner) {                \
        if (NORM_SMALL(n))                                                                       \
            norm_apply_backward_body<T, u32>(dy, x, mean, coef, dx, (u32)n, (u32)channels,       \
                                             (u32)inner);                                        \
        else norm_apply_backward_body<T, u64>(dy, x, mean, coef, dx, n, channels, inner);        \
    }

FOR_EACH_ELEMENT(NORM_KERNELS)
