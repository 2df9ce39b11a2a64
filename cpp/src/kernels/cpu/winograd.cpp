// Winograd F(4x4, 3x3) convolution (Lavin & Gray, "Fast Algorithms for Convolutional Neural
// Networks", 2016) for the CPU backend.
//
// The output is cut into 4x4 tiles; each reads a 6x6 input tile. With the transforms
//   U = G g G^T (weights, 6x6 per (k, c)),  V = B^T d B (input tiles),  Y = A^T (U . V) A
// the 144 multiply-adds of a tile's direct 3x3 convolution per channel pair become 36, and
// summing over input channels turns the elementwise products into 36 independent GEMMs
//   M[xi][t][k] = sum_c V[xi][t][c] U[xi][c][k]      (xi = one of the 6x6 points)
// which run on the packed SGEMM. The weight gradient uses the same tiles backwards:
//   dU[xi][k][c] = sum_t W[xi][t][k] V[xi][t][c] with W = A dY A^T, then dw = G^T dU G.
// Transforms keep kLanes channels in the vector lanes, which is why winograd_applies() asks for
// channel counts that fill whole vectors. Tiles are processed in chunks sized so that a chunk's
// transformed tiles stay in cache between the transforms and the GEMMs; within a chunk the team
// splits tiles for the transforms and the 36 points for the GEMMs.
//
// The plain reference these kernels are checked against is the direct loop in
// tests_cpp/test_kernels_cpu_conv.cpp.
#include "winograd.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include "cpu_parallel.h"
#include "gemm_kernel.h"

namespace dlcore::kernels::cpu {
namespace {

using detail::kLanes;
using detail::ScratchSlot;
using detail::thread_scratch;
using detail::VecF;

constexpr int kTile = 4;                  // outputs per tile side
constexpr int kAlpha = kTile + 3 - 1;     // inputs per tile side
constexpr int kPoints = kAlpha * kAlpha;  // transformed points: one GEMM each

// The interpolation points 0, +-1, +-2 and infinity.
constexpr float kBT[kAlpha][kAlpha] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0},
                                       {0, 4, -4, -1, 1, 0}, {0, -2, -1, 2, 1, 0},
                                       {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
constexpr float kG[kAlpha][3] = {{1.0f / 4, 0, 0},
                                 {-1.0f / 6, -1.0f / 6, -1.0f / 6},
                                 {-1.0f / 6, 1.0f / 6, -1.0f / 6},
                                 {1.0f / 24, 1.0f / 12, 1.0f / 6},
                                 {1.0f / 24, -1.0f / 12, 1.0f / 6},
                                 {0, 0, 1}};
constexpr float kGT[3][kAlpha] = {{1.0f / 4, -1.0f / 6, -1.0f / 6, 1.0f / 24, 1.0f / 24, 0},
                                  {0, -1.0f / 6, 1.0f / 6, 1.0f / 12, -1.0f / 12, 0},
                                  {0, -1.0f / 6, -1.0f / 6, 1.0f / 6, 1.0f / 6, 1}};
constexpr float kAT[kTile][kAlpha] = {
    {1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};
constexpr float kA[kAlpha][kTile] = {{1, 0, 0, 0},  {1, 1, 1, 1},   {1, -1, 1, -1},
                                     {1, 2, 4, 8},  {1, -2, 4, -8}, {0, 0, 0, 1}};

// out[i * out_stride] = sum_j m[i][j] in[j * in_stride]. Fully unrolled over the constant matrix,
// so zero coefficients cost nothing and +-1 ones no multiply.
template <int ROWS, int COLS>
inline void apply(const float (&m)[ROWS][COLS], const VecF* in, int in_stride, VecF* out,
                  int out_stride) {
#pragma GCC unroll 8
  for (int i = 0; i < ROWS; ++i) {
    VecF acc = VecF{};
    bool first = true;
#pragma GCC unroll 8
    for (int j = 0; j < COLS; ++j) {
      const float c = m[i][j];
      if (c == 0.0f) continue;
      const VecF v = in[j * in_stride];
      const VecF term = c == 1.0f ? v : c == -1.0f ? -v : v * c;
      acc = first ? term : acc + term;
      first = false;
    }
    out[i * out_stride] = acc;
  }
}

// out = L in R^T for an IR x IC matrix `in` of vectors (row-major); out is OR x OC.
template <int OR, int IR, int OC, int IC>
inline void sandwich(const float (&l)[OR][IR], const VecF* in, const float (&r)[OC][IC],
                     VecF* out) {
  VecF left[OR * IC];
#pragma GCC unroll 8
  for (int col = 0; col < IC; ++col) apply(l, in + col, IC, left + col, IC);
#pragma GCC unroll 8
  for (int row = 0; row < OR; ++row) apply(r, left + row * IC, 1, out + row * OC, 1);
}

// Where tiles are and how many a chunk holds.
struct TilePlan {
  int64_t tiles_h, tiles_w, per_image, total;
  int64_t chunk;  // tiles per chunk

  explicit TilePlan(const Conv2dShape& s)
      : tiles_h((s.P + kTile - 1) / kTile),
        tiles_w((s.Q + kTile - 1) / kTile),
        per_image(tiles_h * tiles_w),
        total(s.N * per_image) {
    // A chunk's transformed tiles (kPoints * (C + K) floats each) should fit in a few MiB of
    // cache; but every chunk also streams all of U (kPoints * C * K floats), so a chunk needs
    // at least ~2 C K / (C + K) tiles for that stream not to dominate.
    constexpr int64_t kChunkBytes = int64_t{4} << 20;
    const int64_t per_tile_bytes = kPoints * (s.C + s.K) * int64_t{sizeof(float)};
    const int64_t for_cache = kChunkBytes / per_tile_bytes;
    const int64_t for_weights = 2 * s.C * s.K / (s.C + s.K);
    chunk = std::min(total, std::max<int64_t>({for_cache, for_weights, 16}));
  }

  struct Tile {
    int64_t n, h0, w0;  // image and the tile's top-left output position
  };
  Tile tile(int64_t t) const {
    const int64_t rest = t % per_image;
    return {t / per_image, rest / tiles_w * kTile, rest % tiles_w * kTile};
  }
};

inline VecF load(const float* p) { return detail::load_unaligned(p); }
inline void store(float* p, VecF v) { detail::store_unaligned(p, v); }

// d[r * 6 + c] lane l = x[c0 + l][h0 - pad + r][w0 - pad + c] of image `image`, 0 in the padding.
void gather_input_tile(const float* image, int64_t c0, int64_t h0, int64_t w0,
                       const Conv2dShape& s, VecF* d) {
  alignas(64) float patch[kPoints][kLanes];
  const int64_t top = h0 - s.pad_h, left = w0 - s.pad_w;
  const bool inside = top >= 0 && left >= 0 && top + kAlpha <= s.H && left + kAlpha <= s.W;
  for (int l = 0; l < kLanes; ++l) {
    const float* plane = image + (c0 + l) * s.H * s.W;
    if (inside) {
      for (int r = 0; r < kAlpha; ++r) {
        const float* row = plane + (top + r) * s.W + left;
        for (int c = 0; c < kAlpha; ++c) patch[r * kAlpha + c][l] = row[c];
      }
      continue;
    }
    for (int r = 0; r < kAlpha; ++r) {
      const int64_t h = top + r;
      for (int c = 0; c < kAlpha; ++c) {
        const int64_t w = left + c;
        patch[r * kAlpha + c][l] =
            h >= 0 && h < s.H && w >= 0 && w < s.W ? plane[h * s.W + w] : 0.0f;
      }
    }
  }
  for (int i = 0; i < kPoints; ++i) d[i] = load(patch[i]);
}

// V[xi][t][c] for the chunk's tiles [first, first + count): B^T d B of every channel block.
void transform_input(const float* x, const Conv2dShape& s, const TilePlan& plan, int64_t first,
                     int64_t count, float* V) {
#pragma omp for schedule(static)
  for (int64_t t = 0; t < count; ++t) {
    const TilePlan::Tile tile = plan.tile(first + t);
    const float* image = x + tile.n * s.C * s.H * s.W;
    for (int64_t c0 = 0; c0 < s.C; c0 += kLanes) {
      VecF d[kPoints], v[kPoints];
      gather_input_tile(image, c0, tile.h0, tile.w0, s, d);
      sandwich(kBT, d, kBT, v);
      for (int xi = 0; xi < kPoints; ++xi) store(V + (xi * plan.chunk + t) * s.C + c0, v[xi]);
    }
  }
}

// U[xi][c][k] = (G w[k][c] G^T)[xi], lanes over k.
void transform_weights(const float* w, const Conv2dShape& s, float* U) {
#pragma omp for schedule(static)
  for (int64_t c = 0; c < s.C; ++c)
    for (int64_t k0 = 0; k0 < s.K; k0 += kLanes) {
      alignas(64) float taps[9][kLanes];
      for (int l = 0; l < kLanes; ++l) {
        const float* src = w + ((k0 + l) * s.C + c) * 9;
        for (int i = 0; i < 9; ++i) taps[i][l] = src[i];
      }
      VecF g[9], u[kPoints];
      for (int i = 0; i < 9; ++i) g[i] = load(taps[i]);
      sandwich(kG, g, kG, u);
      for (int xi = 0; xi < kPoints; ++xi) store(U + (xi * s.C + c) * s.K + k0, u[xi]);
    }
}

// y from M[xi][t][k]: A^T m A per tile and output-channel block, cropped at the image edge.
void transform_output(const float* M, const Conv2dShape& s, const TilePlan& plan, int64_t first,
                      int64_t count, float* y) {
#pragma omp for schedule(static)
  for (int64_t t = 0; t < count; ++t) {
    const TilePlan::Tile tile = plan.tile(first + t);
    const int64_t rows = std::min<int64_t>(kTile, s.P - tile.h0);
    const int64_t cols = std::min<int64_t>(kTile, s.Q - tile.w0);
    for (int64_t k0 = 0; k0 < s.K; k0 += kLanes) {
      VecF m[kPoints], out[kTile * kTile];
      for (int xi = 0; xi < kPoints; ++xi) m[xi] = load(M + (xi * plan.chunk + t) * s.K + k0);
      sandwich(kAT, m, kAT, out);
      alignas(64) float values[kTile * kTile][kLanes];
      for (int i = 0; i < kTile * kTile; ++i) store(values[i], out[i]);
      for (int l = 0; l < kLanes; ++l) {
        float* plane = y + (tile.n * s.K + k0 + l) * s.P * s.Q;
        for (int64_t a = 0; a < rows; ++a)
          for (int64_t b = 0; b < cols; ++b)
            plane[(tile.h0 + a) * s.Q + tile.w0 + b] = values[a * kTile + b][l];
      }
    }
  }
}

// W[xi][t][k] = (A dY A^T)[xi] for the chunk's tiles, dY zero outside the output.
void transform_output_grad(const float* gy, const Conv2dShape& s, const TilePlan& plan,
                           int64_t first, int64_t count, float* W) {
#pragma omp for schedule(static)
  for (int64_t t = 0; t < count; ++t) {
    const TilePlan::Tile tile = plan.tile(first + t);
    const int64_t rows = std::min<int64_t>(kTile, s.P - tile.h0);
    const int64_t cols = std::min<int64_t>(kTile, s.Q - tile.w0);
    for (int64_t k0 = 0; k0 < s.K; k0 += kLanes) {
      alignas(64) float patch[kTile * kTile][kLanes] = {};
      for (int l = 0; l < kLanes; ++l) {
        const float* plane = gy + (tile.n * s.K + k0 + l) * s.P * s.Q;
        for (int64_t a = 0; a < rows; ++a)
          for (int64_t b = 0; b < cols; ++b)
            patch[a * kTile + b][l] = plane[(tile.h0 + a) * s.Q + tile.w0 + b];
      }
      VecF dy[kTile * kTile], v[kPoints];
      for (int i = 0; i < kTile * kTile; ++i) dy[i] = load(patch[i]);
      sandwich(kA, dy, kA, v);
      for (int xi = 0; xi < kPoints; ++xi) store(W + (xi * plan.chunk + t) * s.K + k0, v[xi]);
    }
  }
}

// gw[k][c] = G^T dU[k][c] G, lanes over c.
void transform_weight_grad(const float* dU, const Conv2dShape& s, float* gw) {
#pragma omp for schedule(static)
  for (int64_t k = 0; k < s.K; ++k)
    for (int64_t c0 = 0; c0 < s.C; c0 += kLanes) {
      VecF du[kPoints], g[9];
      for (int xi = 0; xi < kPoints; ++xi) du[xi] = load(dU + (xi * s.K + k) * s.C + c0);
      sandwich(kGT, du, kGT, g);
      alignas(64) float taps[9][kLanes];
      for (int i = 0; i < 9; ++i) store(taps[i], g[i]);
      for (int l = 0; l < kLanes; ++l) {
        float* dst = gw + (k * s.C + c0 + l) * 9;
        for (int i = 0; i < 9; ++i) dst[i] = taps[i][l];
      }
    }
}

std::atomic<bool>& winograd_setting() {
  static std::atomic<bool> enabled{true};
  return enabled;
}

int team_size(const Conv2dShape& s) {
  // Work in multiply-adds after the 4x reduction; the threshold is gemm's.
  return detail::threads_for(s.N * s.P * s.Q * s.C * s.K * 9 / 4, detail::kParallelMacs);
}

}  // namespace

void set_winograd_enabled(bool enabled) {
  winograd_setting().store(enabled, std::memory_order_relaxed);
}

bool winograd_enabled() { return winograd_setting().load(std::memory_order_relaxed); }

bool winograd_applies(const Conv2dShape& s) {
  if (!winograd_enabled()) return false;
  if (s.R != 3 || s.S != 3 || s.stride_h != 1 || s.stride_w != 1 || s.dilation_h != 1 ||
      s.dilation_w != 1 || s.groups != 1)
    return false;
  if (s.pad_h < 0 || s.pad_h > 2 || s.pad_w < 0 || s.pad_w > 2 || s.P < 1 || s.Q < 1) return false;
  if (s.C % kLanes != 0 || s.K % kLanes != 0 || s.C < 32 || s.K < 32) return false;
  // Tiles past the image edge compute discarded outputs: at most half may be wasted.
  const TilePlan plan(s);
  return plan.per_image * kTile * kTile <= 2 * s.P * s.Q;
}

void winograd_conv2d_forward(const float* x, const float* w, float* y, const Conv2dShape& s) {
  const TilePlan plan(s);
  float* U = thread_scratch(ScratchSlot::WinogradWeights, kPoints * s.C * s.K);
  float* V = thread_scratch(ScratchSlot::WinogradTiles, kPoints * plan.chunk * s.C);
  float* M = thread_scratch(ScratchSlot::WinogradProducts, kPoints * plan.chunk * s.K);
  const int threads = team_size(s);
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    transform_weights(w, s, U);
    for (int64_t first = 0; first < plan.total; first += plan.chunk) {
      const int64_t count = std::min(plan.chunk, plan.total - first);
      transform_input(x, s, plan, first, count, V);
#pragma omp for schedule(static)
      for (int xi = 0; xi < kPoints; ++xi)
        gemm(false, false, count, s.K, s.C, 1.0f, V + xi * plan.chunk * s.C, s.C,
             U + xi * s.C * s.K, s.K, 0.0f, M + xi * plan.chunk * s.K, s.K);
      transform_output(M, s, plan, first, count, y);
    }
  }
}

void winograd_conv2d_backward_weight(const float* x, const float* gy, float* gw,
                                     const Conv2dShape& s) {
  const TilePlan plan(s);
  float* dU = thread_scratch(ScratchSlot::WinogradWeights, kPoints * s.C * s.K);
  float* V = thread_scratch(ScratchSlot::WinogradTiles, kPoints * plan.chunk * s.C);
  float* W = thread_scratch(ScratchSlot::WinogradProducts, kPoints * plan.chunk * s.K);
  const int threads = team_size(s);
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    for (int64_t first = 0; first < plan.total; first += plan.chunk) {
      const int64_t count = std::min(plan.chunk, plan.total - first);
      transform_input(x, s, plan, first, count, V);
      transform_output_grad(gy, s, plan, first, count, W);
      // Each point's dU belongs to one thread for the whole call: no reduction across threads.
#pragma omp for schedule(static)
      for (int xi = 0; xi < kPoints; ++xi)
        gemm(true, false, s.K, s.C, count, 1.0f, W + xi * plan.chunk * s.K, s.K,
             V + xi * plan.chunk * s.C, s.C, first == 0 ? 0.0f : 1.0f, dU + xi * s.K * s.C,
             s.C);
    }
    transform_weight_grad(dU, s, gw);
  }
}

}  // namespace dlcore::kernels::cpu
