// Host shim that lets the CUDA C++ kernel sources compile and run on the CPU with g++
// (C++20): the CUDA keywords become plain C++, each block's threads run one after the
// other — or, for kernels that call __syncthreads, as real threads meeting at a barrier —
// and "device pointers" are host addresses. Only for checking kernels without a GPU.
#include <atomic>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <thread>
#include <utility>
#include <vector>

#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static

struct emu_dim3 {
    unsigned x = 1, y = 1, z = 1;
};
static thread_local emu_dim3 threadIdx, blockIdx;
static emu_dim3 blockDim, gridDim;
static std::barrier<>* emu_barrier = nullptr;

static inline void __syncthreads() { emu_barrier->arrive_and_wait(); }

template <typename T>
static inline T atomicAdd(T* p, T v) {
    return std::atomic_ref<T>(*p).fetch_add(v);
}

template <typename T>
static inline T min(T a, T b) {
    return b < a ? b : a;
}

// CUDA's round-to-nearest intrinsics: g++ in ISO C++ mode never contracts, so plain
// operations round the same way.
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline double __dmul_rn(double a, double b) { return a * b; }
static inline float __fadd_rn(float a, float b) { return a + b; }
static inline double __dadd_rn(double a, double b) { return a + b; }

// The CUDA math functions the kernels use are the C library's of the same names.
using std::cos;
using std::exp;
using std::fabs;
using std::fmax;
using std::fmin;
using std::log;
using std::pow;
using std::sin;
using std::sqrt;
using std::tanh;
