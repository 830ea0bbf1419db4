// im2col and col2im for the stride-1, zero-padded convolution. The column matrix of a
// chunk of `bc` images starting at image b0 is [cin * kh * kw, bc * oh * ow]: row
// (c, ky, kx), column (image, oy, ox). Rows of group g are rows g*K .. (g+1)*K with
// K = cin/groups * kh * kw, so one layout serves every group count.

// Layout-compatible with `ConvGeom` in conv.rs. All sizes fit in 32 bits (checked there).
struct ConvGeom {
    u32 cin, h, w, kh, kw, ph, pw, oh, ow;
};

// Grid: x over output pixels, y over column rows, z over the images of the chunk.
template <typename T>
__device__ void im2col_body(const T* x, T* col, ConvGeom g, u32 b0, u32 bc) {
    const u32 P = g.oh * g.ow;
    const u32 khw = g.kh * g.kw;
    for (u32 r = blockIdx.y; r < g.cin * khw; r += gridDim.y) {
        const u32 c = r / khw;
        const u32 kk = r - c * khw;
        const u32 ky = kk / g.kw;
        const u32 kx = kk - ky * g.kw;
        for (u32 bb = blockIdx.z; bb < bc; bb += gridDim.z) {
            const T* xp = x + ((u64)(b0 + bb) * g.cin + c) * g.h * g.w;
            T* cp = col + ((u64)r * bc + bb) * P;
            for (u32 p = blockIdx.x * blockDim.x + threadIdx.x; p < P; p += gridDim.x * blockDim.x) {
                const u32 oy = p / g.ow;
                const u32 ox = p - oy * g.ow;
                const int iy = (int)(oy + ky) - (int)g.ph;
                const int ix = (int)(ox + kx) - (int)g.pw;
                const bool inside = iy >= 0 && iy < (int)g.h && ix >= 0 && ix < (int)g.w;
                cp[p] = inside ? xp[(u32)iy * g.w + (u32)ix] : T(0);
            }
        }
    }
}

// The adjoint: every input pixel of the chunk gathers the column entries that read it
// (no atomics, so the result does not depend on scheduling). Grid: x over input pixels,
// y over channels, z over images. dx points at the chunk's first image.
template <typename T>
__device__ void col2im_body(const T* col, T* dx, ConvGeom g, u32 bc) {
    const u32 P = g.oh * g.ow;
    const u32 HW = g.h * g.w;
    for (u32 c = blockIdx.y; c < g.cin; c += gridDim.y) {
        for (u32 bb = blockIdx.z; bb < bc; bb += gridDim.z) {
            for (u32 pix = blockIdx.x * blockDim.x + threadIdx.x; pix < HW;
                 pix += gridDim.x * blockDim.x) {
                const int iy = (int)(pix / g.w);
                const int ix = (int)(pix - (u32)iy * g.w);
                T acc = T(0);
                for (u32 ky = 0; ky < g.kh; ++ky) {
                    const int oy = iy + (int)g.ph - (int)ky;
                    if (oy < 0 || oy >= (int)g.oh) continue;
                    for (u32 kx = 0; kx < g.kw; ++kx) {
                        const int ox = ix + (int)g.pw - (int)kx;
                        if (ox < 0 || ox >= (int)g.ow) continue;
                        const u64 r = ((u64)c * g.kh + ky) * g.kw + kx;
                        acc += col[(r * bc + bb) * P + (u32)oy * g.ow + (u32)ox];
                    }
                }
                dx[((u64)bb * g.cin + c) * HW + pix] = acc;
            }
        }
    }
}

#define CONV_KERNELS(T, S)                                                                       \
    extern "C" __global__ void im2col_##S(const T* x, T* col, ConvGeom g, u32 b0, u32 bc) {      \
        im2col_body<T>(x, col, g, b0, bc);                                                       \
    }                                                                                            \
    extern "C" __global__ void col2im_##S(const T* col, T* dx, ConvGeom g, u32 bc) {             \
        col2im_body<T>(col, dx, g, bc);                                                          \
    }

FOR_EACH_ELEMENT(CONV_KERNELS)
