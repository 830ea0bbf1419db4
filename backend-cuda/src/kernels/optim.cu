// Optimiser updates fused into one pass: Backend::adam_update. Each operation is
// rounded on its own (k_mul/k_add: no fused multiply-add), in the order of the provided
// body (core/src/reference/adam.rs), so a GPU step equals the CPU's bit for bit.

// The update's constants, already rounded to the element type on the host (each travels
// as double, exact for f32 values). Layout-compatible with `AdamArgs` in ops/optim.rs.
struct AdamArgs {
    double weight_decay;
    double beta1;
    double one_minus_beta1;
    double beta2;
    double one_minus_beta2;
    double inv_bias_correction2_sqrt;
    double eps;
    double neg_step_size;
};

// Flag bits of adam_update's `flags`.
#define ADAM_FIRST 1         // the first update: no moments to read
#define ADAM_WEIGHT_DECAY 2  // add weight_decay * value to the gradient

template <typename T>
__device__ void adam_update_body(const T* value, const T* grad, const T* m, const T* v, T* value_out,
                                 T* m_out, T* v_out, u64 n, int flags, const AdamArgs& a) {
    const T wd = (T)a.weight_decay, b1 = (T)a.beta1, c1 = (T)a.one_minus_beta1;
    const T b2 = (T)a.beta2, c2 = (T)a.one_minus_beta2;
    const T inv_corr = (T)a.inv_bias_correction2_sqrt, eps = (T)a.eps, neg_step = (T)a.neg_step_size;
    const bool first = (flags & ADAM_FIRST) != 0, decay = (flags & ADAM_WEIGHT_DECAY) != 0;
    for (u64 i = GRID_START; i < n; i += GRID_STRIDE) {
        const T x = value[i];
        T g = grad[i];
        if (decay) g = k_add(g, k_mul(x, wd));
        const T g_sq = k_mul(g, g);
        const T mi = first ? k_mul(g, c1) : k_add(k_mul(m[i], b1), k_mul(g, c1));
        const T vi = first ? k_mul(g_sq, c2) : k_add(k_mul(v[i], b2), k_mul(g_sq, c2));
        const T denom = k_add(k_mul(k_sqrt(vi), inv_corr), eps);
        value_out[i] = k_add(x, k_mul(mi / denom, neg_step));
        m_out[i] = mi;
        v_out[i] = vi;
    }
}

// One parameter of adam_update_many: the arguments of adam_update, addresses as integers
// (the kernel's element type gives them theirs). Layout-compatible with `AdamJob` in
// ops/optim.rs.
struct AdamJob {
    u64 value, grad, m, v, value_out, m_out, v_out;
    u64 n;
    int flags;
    AdamArgs a;
};

// The jobs of one launch (the first gridDim.y are used).
struct AdamJobs {
    AdamJob job[ADAM_JOBS];
};

#define OPTIM_KERNELS(T, S)                                                                     \
    extern "C" __global__ void adam_update_##S(const T* value, const T* grad, const T* m,       \
                                               const T* v, T* value_out, T* m_out, T* v_out,    \
                                               u64 n, int flags, AdamArgs a) {                  \
        adam_update_body<T>(value, grad, m, v, value_out, m_out, v_out, n, flags, a);           \
    }                                                                                           \
    /* Grid: x over a parameter's elements (grid-stride), y over the jobs. */                   \
    extern "C" __global__ void adam_update_many_##S(AdamJobs jobs) {                            \
        const AdamJob& j = jobs.job[blockIdx.y];                                                \
        adam_update_body<T>((const T*)j.value, (const T*)j.grad, (const T*)j.m,                 \
                            (const T*)j.v, (T*)j.value_out, (T*)j.m_out, (T*)j.v_out, j.n,     \
                            j.flags, j.a);                                                      \
    }

FOR_EACH_ELEMENT(OPTIM_KERNELS)
