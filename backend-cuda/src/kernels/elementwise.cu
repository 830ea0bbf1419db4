// Elementwise maps: fill, unary ops, binary ops (same shape or broadcast), and the
// small-upload kernel that carries data inside its parameters.

template <typename T>
__device__ __forceinline__ T unary_apply(int op, T x, T s) {
    const T zero = T(0), one = T(1);
    switch (op) {
        case UOP_NEG: return -x;
        case UOP_SIN: return k_sin(x);
        case UOP_COS: return k_cos(x);
        case UOP_EXP: return k_exp(x);
        case UOP_LOG: return k_log(x);
        case UOP_RELU: return x > zero ? x : zero;
        case UOP_SIGMOID: return one / (one + k_exp(-x));
        case UOP_TANH: return k_tanh(x);
        case UOP_SQUARE: return x * x;
        case UOP_SQRT: return k_sqrt(x);
        case UOP_ABS: return k_abs(x);
        case UOP_RECIP: return one / x;
        case UOP_SIGN: return x > zero ? one : (x < zero ? -one : zero);
        case UOP_STEP: return x > zero ? one : zero;
        case UOP_ADD_SCALAR: return x + s;
        case UOP_MUL_SCALAR: return x * s;
        case UOP_POW_SCALAR: return k_pow(x, s);
        case UOP_MAX_SCALAR: return x > s ? x : s;
        case UOP_MIN_SCALAR: return x < s ? x : s;
        case UOP_GREATER_SCALAR: return x > s ? one : zero;
    }
    return x;
}

template <typename T>
__device__ __forceinline__ T binary_apply(int op, T a, T b) {
    switch (op) {
        case BOP_ADD: return a + b;
        case BOP_SUB: return a - b;
        case BOP_MUL: return a * b;
        case BOP_DIV: return a / b;
        case BOP_MAXIMUM: return a >= b ? a : b;
        case BOP_MINIMUM: return a <= b ? a : b;
        case BOP_EQUAL: return a == b ? T(1) : T(0);
        case BOP_GREATER: return a > b ? T(1) : T(0);
    }
    return a;
}

// Dimensions of the output and element strides of both operands, innermost axis last;
// `rank` axes are used. Layout-compatible with `BroadcastArgs<I>` in layout.rs.
template <typename I>
struct Broadcast {
    I dims[MAX_RANK];
    I a[MAX_RANK];
    I b[MAX_RANK];
    I rank;
};

template <typename T>
__device__ void fill_body(T* y, u64 n, double v) {
    const T t = (T)v;
    for (u64 i = GRID_START; i < n; i += GRID_STRIDE) y[i] = t;
}

template <typename T>
__device__ void unary_body(const T* x, T* y, u64 n, int op, double s) {
    const T st = (T)s;
    for (u64 i = GRID_START; i < n; i += GRID_STRIDE) y[i] = unary_apply<T>(op, x[i], st);
}

template <typename T>
__device__ void binary_same_body(const T* a, const T* b, T* y, u64 n, int op) {
    for (u64 i = GRID_START; i < n; i += GRID_STRIDE) y[i] = binary_apply<T>(op, a[i], b[i]);
}

// I is the index type: 32-bit when every offset fits (division is much cheaper), else 64.
template <typename T, typename I>
__device__ void binary_bcast_body(const T* a, const T* b, T* y, I n, int op, const Broadcast<I>& l) {
    const I stride = (I)gridDim.x * blockDim.x;
    for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        I rem = i, oa = 0, ob = 0;
        for (int d = (int)l.rank - 1; d >= 0; --d) {
            const I q = rem / l.dims[d];
            const I c = rem - q * l.dims[d];
            rem = q;
            oa += c * l.a[d];
            ob += c * l.b[d];
        }
        y[i] = binary_apply<T>(op, a[oa], b[ob]);
    }
}

#define ELEMENTWISE_KERNELS(T, S)                                                                \
    extern "C" __global__ void fill_##S(T* y, u64 n, double v) { fill_body<T>(y, n, v); }       \
    extern "C" __global__ void unary_##S(const T* x, T* y, u64 n, int op, double s) {           \
        unary_body<T>(x, y, n, op, s);                                                           \
    }                                                                                            \
    extern "C" __global__ void binary_same_##S(const T* a, const T* b, T* y, u64 n, int op) {   \
        binary_same_body<T>(a, b, y, n, op);                                                     \
    }                                                                                            \
    extern "C" __global__ void binary_bcast_i32_##S(const T* a, const T* b, T* y, u32 n, int op, \
                                                    Broadcast<u32> l) {                          \
        binary_bcast_body<T, u32>(a, b, y, n, op, l);                                            \
    }                                                                                            \
    extern "C" __global__ void binary_bcast_i64_##S(const T* a, const T* b, T* y, u64 n, int op, \
                                                    Broadcast<u64> l) {                          \
        binary_bcast_body<T, u64>(a, b, y, n, op, l);                                            \
    }

FOR_EACH_ELEMENT(ELEMENTWISE_KERNELS)

// Up to SMALL_WORDS 32-bit words carried in the kernel's parameters: an upload that needs
// no host synchronisation (a copy from pageable memory would wait for the stream).
struct Words {
    u32 w[SMALL_WORDS];
};

extern "C" __global__ void write_words(u32* dst, u32 n, Words words) {
    for (u32 i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
        dst[i] = words.w[i];
}
