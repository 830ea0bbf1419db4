// Shared by every kernel source (prepended by kernels/mod.rs after the op-code defines,
// which Rust generates so that both sides agree by construction).
//
// Conventions: every kernel exists once per element type, as `<name>_f32` and `<name>_f64`
// (extern "C", so the names are not mangled); buffers are contiguous; sizes travel as
// 64-bit integers unless a kernel says otherwise; scalars travel as double and are
// rounded to the element type inside (exact for values that came from that type).
// Kernels loop grid-stride, so any grid size is correct and the host may cap it.

typedef unsigned long long u64;
typedef unsigned int u32;

// Overloads that pick the float or double function of the CUDA math library.
__device__ __forceinline__ float k_sin(float x) { return sinf(x); }
__device__ __forceinline__ double k_sin(double x) { return sin(x); }
__device__ __forceinline__ float k_cos(float x) { return cosf(x); }
__device__ __forceinline__ double k_cos(double x) { return cos(x); }
__device__ __forceinline__ float k_exp(float x) { return expf(x); }
__device__ __forceinline__ double k_exp(double x) { return exp(x); }
__device__ __forceinline__ float k_log(float x) { return logf(x); }
__device__ __forceinline__ double k_log(double x) { return log(x); }
__device__ __forceinline__ float k_tanh(float x) { return tanhf(x); }
__device__ __forceinline__ double k_tanh(double x) { return tanh(x); }
__device__ __forceinline__ float k_sqrt(float x) { return sqrtf(x); }
__device__ __forceinline__ double k_sqrt(double x) { return sqrt(x); }
__device__ __forceinline__ float k_abs(float x) { return fabsf(x); }
__device__ __forceinline__ double k_abs(double x) { return fabs(x); }
__device__ __forceinline__ float k_pow(float x, float p) { return powf(x, p); }
__device__ __forceinline__ double k_pow(double x, double p) { return pow(x, p); }
// fmax/fmin ignore a NaN operand, as Rust's f32::max/min (the reference's reductions).
__device__ __forceinline__ float k_fmax(float a, float b) { return fmaxf(a, b); }
__device__ __forceinline__ double k_fmax(double a, double b) { return fmax(a, b); }
__device__ __forceinline__ float k_fmin(float a, float b) { return fminf(a, b); }
__device__ __forceinline__ double k_fmin(double a, double b) { return fmin(a, b); }

// Products and sums rounded one at a time: NVRTC may otherwise contract `a * b + c`
// into a fused multiply-add, which rounds once and so differs from the same operations
// run as separate kernels.
__device__ __forceinline__ float k_mul(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ double k_mul(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ float k_add(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ double k_add(double a, double b) { return __dadd_rn(a, b); }

// First index and stride of a grid-stride loop, in 64 bits.
#define GRID_START ((u64)blockIdx.x * blockDim.x + threadIdx.x)
#define GRID_STRIDE ((u64)gridDim.x * blockDim.x)

// Instantiates M(type, suffix) for both element types.
#define FOR_EACH_ELEMENT(M) M(float, f32) M(double, f64)
