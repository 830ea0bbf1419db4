// 2x2 max pooling with stride 2 on planes of h x w (odd edges dropped). A window's
// winner is its first maximum in row-major order, as in the reference.

template <typename T>
__device__ __forceinline__ u64 window_argmax(const T* x, u64 t, u64 h, u64 w) {
    const u64 ow = w / 2, oh = h / 2;
    const u64 j = t % ow;
    const u64 r = t / ow;
    const u64 i = r % oh;
    const u64 p = r / oh;
    const u64 base = (p * h + 2 * i) * w + 2 * j;
    u64 best = base;
    if (x[base + 1] > x[best]) best = base + 1;
    if (x[base + w] > x[best]) best = base + w;
    if (x[base + w + 1] > x[best]) best = base + w + 1;
    return best;
}

template <typename T>
__device__ void max_pool_body(const T* x, T* y, u64 planes, u64 h, u64 w) {
    const u64 n = planes * (h / 2) * (w / 2);
    for (u64 t = GRID_START; t < n; t += GRID_STRIDE) y[t] = x[window_argmax<T>(x, t, h, w)];
}

// dx must be zeroed; windows do not overlap, so each winner is written by one thread.
template <typename T>
__device__ void max_pool_backward_body(const T* x, const T* dy, T* dx, u64 planes, u64 h, u64 w) {
    const u64 n = planes * (h / 2) * (w / 2);
    for (u64 t = GRID_START; t < n; t += GRID_STRIDE) dx[window_argmax<T>(x, t, h, w)] = dy[t];
}

#define POOL_KERNELS(T, S)                                                                       \
    extern "C" __global__ void max_pool_##S(const T* x, T* y, u64 planes, u64 h, u64 w) {        \
        max_pool_body<T>(x, y, planes, h, w);                                                    \
    }                                                                                            \
    extern "C" __global__ void max_pool_backward_##S(const T* x, const T* dy, T* dx, u64 planes, \
                                                     u64 h, u64 w) {                             \
        max_pool_backward_body<T>(x, dy, dx, planes, h, w);                                      \
    }

FOR_EACH_ELEMENT(POOL_KERNELS)
