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
#include <vector>

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

// This thread's contiguous share of [0, n) (all of it outside a parallel region).
struct Range {
  int64_t begin, end;
};
Range my_share(int64_t n) {
  const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
  return {n * t / nt, n * (t + 1) / nt};
}

// Where tiles are, how many a chunk holds, and how the team shares the work.
//
// Private chunks: with tiles to spare, each thread transforms, multiplies and writes back whole
// chunks of its own, in its own scratch, with no barrier and no tile crossing between cores (a
// chunk sized for L2). Shared chunks: deep layers have few tiles and large weights (ResNet's
// 512 x 512 at 4x4 is 64 tiles per batch against 9.4 M transformed weights), so the team works on
// one chunk at a time, splitting its tiles for the transforms and its 36 GEMMs, and each thread
// reads only its points' weights.
struct TilePlan {
  int64_t tiles_h, tiles_w, per_image, total;
  int64_t chunk;       // tiles per chunk
  int64_t chunks;      // chunks in the call
  bool private_chunks;

  TilePlan(const Conv2dShape& s, int threads)
      : tiles_h((s.P + kTile - 1) / kTile),
        tiles_w((s.Q + kTile - 1) / kTile),
        per_image(tiles_h * tiles_w),
        total(s.N * per_image) {
    // A chunk's transformed tiles take kPoints * (C + K) floats each; every chunk also streams all
    // of U (kPoints * C * K floats), so it needs ~2 C K / (C + K) tiles for that not to dominate.
    const int64_t per_tile_bytes = kPoints * (s.C + s.K) * int64_t{sizeof(float)};
    const int64_t for_weights = 2 * s.C * s.K / (s.C + s.K);
    const int64_t private_chunk = std::max<int64_t>({(int64_t{3} << 19) / per_tile_bytes, for_weights, 16});
    private_chunks = threads <= 1 || total >= threads * private_chunk;
    const int64_t shared_chunk = std::max<int64_t>({(int64_t{4} << 20) / per_tile_bytes, for_weights, 16});
    chunk = std::min(total, private_chunks ? private_chunk : shared_chunk);
    chunks = (total + chunk - 1) / chunk;
  }

  int64_t count(int64_t index) const { return std::min(chunk, total - index * chunk); }

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

// The input with its zero padding made explicit, sized so that every tile, the ragged last ones
// included, lies inside it and each of a tile's rows can be read 8 floats wide: the gather then
// needs no bounds checks. Copying the input once costs less than checking 36 taps per tile.
struct PaddedInput {
  int64_t height, width, plane;

  explicit PaddedInput(const TilePlan& plan)
      : height(plan.tiles_h * kTile + 2), width(plan.tiles_w * kTile + 4), plane(height * width) {}

  // The planes [planes.begin, planes.end) of x (plane = image * C + channel) into `padded`.
  void fill(const float* x, const Conv2dShape& s, Range planes, float* padded) const {
    for (int64_t p = planes.begin; p < planes.end; ++p) {
      const float* src = x + p * s.H * s.W;
      float* dst = padded + p * plane;
      for (int64_t row = 0; row < height; ++row) {
        float* out = dst + row * width;
        const int64_t h = row - s.pad_h;
        if (h < 0 || h >= s.H) {
          std::fill(out, out + width, 0.0f);
          continue;
        }
        const int64_t copied = std::min(s.W, width - s.pad_w);
        std::fill(out, out + s.pad_w, 0.0f);
        std::copy_n(src + h * s.W, copied, out + s.pad_w);
        std::fill(out + s.pad_w + copied, out + width, 0.0f);
      }
    }
  }
};

// d[r * 6 + c] lane l = the padded input of channel c0 + l at (h0 + r, w0 + c), for the tile whose
// top-left output is (h0, w0). Channels are planes apart, so filling the lanes is a transpose: 8x8
// register transposes of 8-wide row reads where the target has AVX2, scalar copies elsewhere.
void gather_input_tile(const float* image, const PaddedInput& padded, int64_t c0, int64_t h0,
                       int64_t w0, VecF* d) {
  // Two spare rows: an 8-wide transpose of the last tile row writes 8 columns for its 6.
  alignas(64) float patch[kPoints + 2][kLanes];
  const float* corner = image + c0 * padded.plane + h0 * padded.width + w0;
#if defined(__AVX2__)
  if constexpr (kLanes % 8 == 0) {
    for (int r = 0; r < kAlpha; ++r)
      for (int half = 0; half < kLanes / 8; ++half) {
        const float* rows[8];
        for (int j = 0; j < 8; ++j) rows[j] = corner + (half * 8 + j) * padded.plane + r * padded.width;
        detail::transpose_8x8(rows, 0, &patch[r * kAlpha][half * 8], kLanes);
      }
    for (int i = 0; i < kPoints; ++i) d[i] = load(patch[i]);
    return;
  }
#endif
  for (int l = 0; l < kLanes; ++l)
    for (int r = 0; r < kAlpha; ++r) {
      const float* row = corner + l * padded.plane + r * padded.width;
      for (int c = 0; c < kAlpha; ++c) patch[r * kAlpha + c][l] = row[c];
    }
  for (int i = 0; i < kPoints; ++i) d[i] = load(patch[i]);
}

// The inverse transpose for a tile's outputs: values[a * 4 + b] lane l goes to channel l's
// plane at (h0 + a, w0 + b), `rows` x `cols` of them (fewer at the bottom and right edges).
void scatter_output_tile(const VecF* values, float* image, int64_t k0, int64_t h0, int64_t w0,
                         int64_t rows, int64_t cols, const Conv2dShape& s) {
  const int64_t plane = s.P * s.Q;
  alignas(64) float lanes[kTile * kTile][kLanes];
  for (int i = 0; i < kTile * kTile; ++i) store(lanes[i], values[i]);
#if defined(__AVX2__)
  if (cols == kTile && kLanes % 4 == 0) {
    // 4x4 SSE transposes: 4 output columns of 4 channels become 4 channel rows of 4 outputs.
    for (int64_t a = 0; a < rows; ++a)
      for (int g = 0; g < kLanes; g += 4) {
        __m128 v0 = _mm_load_ps(&lanes[a * kTile + 0][g]), v1 = _mm_load_ps(&lanes[a * kTile + 1][g]);
        __m128 v2 = _mm_load_ps(&lanes[a * kTile + 2][g]), v3 = _mm_load_ps(&lanes[a * kTile + 3][g]);
        _MM_TRANSPOSE4_PS(v0, v1, v2, v3);
        float* out = image + (k0 + g) * plane + (h0 + a) * s.Q + w0;
        _mm_storeu_ps(out, v0);
        _mm_storeu_ps(out + plane, v1);
        _mm_storeu_ps(out + 2 * plane, v2);
        _mm_storeu_ps(out + 3 * plane, v3);
      }
    return;
  }
#endif
  for (int l = 0; l < kLanes; ++l) {
    float* channel = image + (k0 + l) * plane;
    for (int64_t a = 0; a < rows; ++a)
      for (int64_t b = 0; b < cols; ++b) channel[(h0 + a) * s.Q + w0 + b] = lanes[a * kTile + b][l];
  }
}

// dy[a * 4 + b] lane l = gy[k0 + l][h0 + a][w0 + b] of one image, 0 past the output's edge (the
// forward computed those outputs only to discard them): scatter_output_tile's transpose backwards.
void gather_output_grad_tile(const float* image, int64_t k0, int64_t h0, int64_t w0, int64_t rows,
                             int64_t cols, const Conv2dShape& s, VecF* dy) {
  const int64_t plane = s.P * s.Q;
  alignas(64) float patch[kTile * kTile][kLanes] = {};
#if defined(__AVX2__)
  if (cols == kTile && kLanes % 4 == 0) {
    for (int64_t a = 0; a < rows; ++a)
      for (int g = 0; g < kLanes; g += 4) {
        const float* in = image + (k0 + g) * plane + (h0 + a) * s.Q + w0;
        __m128 v0 = _mm_loadu_ps(in), v1 = _mm_loadu_ps(in + plane);
        __m128 v2 = _mm_loadu_ps(in + 2 * plane), v3 = _mm_loadu_ps(in + 3 * plane);
        _MM_TRANSPOSE4_PS(v0, v1, v2, v3);
        _mm_store_ps(&patch[a * kTile + 0][g], v0);
        _mm_store_ps(&patch[a * kTile + 1][g], v1);
        _mm_store_ps(&patch[a * kTile + 2][g], v2);
        _mm_store_ps(&patch[a * kTile + 3][g], v3);
      }
    for (int i = 0; i < kTile * kTile; ++i) dy[i] = load(patch[i]);
    return;
  }
#endif
  for (int l = 0; l < kLanes; ++l) {
    const float* channel = image + (k0 + l) * plane;
    for (int64_t a = 0; a < rows; ++a)
      for (int64_t b = 0; b < cols; ++b) patch[a * kTile + b][l] = channel[(h0 + a) * s.Q + w0 + b];
  }
  for (int i = 0; i < kTile * kTile; ++i) dy[i] = load(patch[i]);
}

// V[xi][t][c] for the tiles `tiles` of the chunk starting at tile `first`: B^T d B of every
// channel block.
void transform_input(const float* x_padded, const PaddedInput& padded, const Conv2dShape& s,
                     const TilePlan& plan, int64_t first, Range tiles, float* V) {
  for (int64_t t = tiles.begin; t < tiles.end; ++t) {
    const TilePlan::Tile tile = plan.tile(first + t);
    const float* image = x_padded + tile.n * s.C * padded.plane;
    for (int64_t c0 = 0; c0 < s.C; c0 += kLanes) {
      VecF d[kPoints], v[kPoints];
      gather_input_tile(image, padded, c0, tile.h0, tile.w0, d);
      sandwich(kBT, d, kBT, v);
      for (int xi = 0; xi < kPoints; ++xi) store(V + (xi * plan.chunk + t) * s.C + c0, v[xi]);
    }
  }
}

// U[xi][c][k] = (G w[k][c] G^T)[xi] for the input channels `cs`, lanes over k. Walking k fastest
// keeps the 36 output streams contiguous (walking c fastest instead made ResNet's 512 x 512
// transform 2x slower).
void transform_weights(const float* w, const Conv2dShape& s, Range cs, float* U) {
  for (int64_t c = cs.begin; c < cs.end; ++c)
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
                      Range tiles, float* y) {
  for (int64_t t = tiles.begin; t < tiles.end; ++t) {
    const TilePlan::Tile tile = plan.tile(first + t);
    const int64_t rows = std::min<int64_t>(kTile, s.P - tile.h0);
    const int64_t cols = std::min<int64_t>(kTile, s.Q - tile.w0);
    for (int64_t k0 = 0; k0 < s.K; k0 += kLanes) {
      VecF m[kPoints], out[kTile * kTile];
      for (int xi = 0; xi < kPoints; ++xi) m[xi] = load(M + (xi * plan.chunk + t) * s.K + k0);
      sandwich(kAT, m, kAT, out);
      scatter_output_tile(out, y + tile.n * s.K * s.P * s.Q, k0, tile.h0, tile.w0, rows, cols, s);
    }
  }
}

// W[xi][t][k] = (A dY A^T)[xi] for the chunk's tiles, dY zero outside the output.
void transform_output_grad(const float* gy, const Conv2dShape& s, const TilePlan& plan,
                           int64_t first, Range tiles, float* W) {
  for (int64_t t = tiles.begin; t < tiles.end; ++t) {
    const TilePlan::Tile tile = plan.tile(first + t);
    const int64_t rows = std::min<int64_t>(kTile, s.P - tile.h0);
    const int64_t cols = std::min<int64_t>(kTile, s.Q - tile.w0);
    for (int64_t k0 = 0; k0 < s.K; k0 += kLanes) {
      VecF dy[kTile * kTile], v[kPoints];
      gather_output_grad_tile(gy + tile.n * s.K * s.P * s.Q, k0, tile.h0, tile.w0, rows, cols, s, dy);
      sandwich(kA, dy, kA, v);
      for (int xi = 0; xi < kPoints; ++xi) store(W + (xi * plan.chunk + t) * s.K + k0, v[xi]);
    }
  }
}

// gw[k][c] = G^T dU[k][c] G for the output channels `ks`, lanes over c; dU is the sum of the
// `partial_count` partial sums in `partials`.
void transform_weight_grad(const float* const* partials, int partial_count, const Conv2dShape& s,
                           Range ks, float* gw) {
  for (int64_t k = ks.begin; k < ks.end; ++k)
    for (int64_t c0 = 0; c0 < s.C; c0 += kLanes) {
      VecF du[kPoints], g[9];
      for (int xi = 0; xi < kPoints; ++xi) {
        du[xi] = load(partials[0] + (xi * s.K + k) * s.C + c0);
        for (int p = 1; p < partial_count; ++p) du[xi] += load(partials[p] + (xi * s.K + k) * s.C + c0);
      }
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
  const TilePlan plan(s, 1);
  return plan.per_image * kTile * kTile <= 2 * s.P * s.Q;
}

void winograd_conv2d_forward(const float* x, const float* w, float* y, const Conv2dShape& s) {
  const int threads = team_size(s);
  const TilePlan plan(s, threads);
  float* U = thread_scratch(ScratchSlot::WinogradWeights, kPoints * s.C * s.K);
  const PaddedInput padded(plan);
  float* x_padded = thread_scratch(ScratchSlot::WinogradPadded, s.N * s.C * padded.plane);
  // Shared chunks use the calling thread's buffers for the whole team.
  float* shared_V = plan.private_chunks ? nullptr : thread_scratch(ScratchSlot::WinogradTiles, kPoints * plan.chunk * s.C);
  float* shared_M = plan.private_chunks ? nullptr : thread_scratch(ScratchSlot::WinogradProducts, kPoints * plan.chunk * s.K);
  auto multiply = [&](const float* V, float* M, int64_t count, Range points) {
    for (int64_t xi = points.begin; xi < points.end; ++xi)
      gemm(false, false, count, s.K, s.C, 1.0f, V + xi * plan.chunk * s.C, s.C, U + xi * s.C * s.K,
           s.K, 0.0f, M + xi * plan.chunk * s.K, s.K);
  };
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    transform_weights(w, s, my_share(s.C), U);
    padded.fill(x, s, my_share(s.N * s.C), x_padded);
#pragma omp barrier
    if (plan.private_chunks) {
      float* V = thread_scratch(ScratchSlot::WinogradTiles, kPoints * plan.chunk * s.C);
      float* M = thread_scratch(ScratchSlot::WinogradProducts, kPoints * plan.chunk * s.K);
      const Range mine = my_share(plan.chunks);
      for (int64_t index = mine.begin; index < mine.end; ++index) {
        const int64_t first = index * plan.chunk, count = plan.count(index);
        transform_input(x_padded, padded, s, plan, first, {0, count}, V);
        multiply(V, M, count, {0, kPoints});
        transform_output(M, s, plan, first, {0, count}, y);
      }
    } else {
      for (int64_t index = 0; index < plan.chunks; ++index) {
        const int64_t first = index * plan.chunk, count = plan.count(index);
        transform_input(x_padded, padded, s, plan, first, my_share(count), shared_V);
#pragma omp barrier
        multiply(shared_V, shared_M, count, my_share(kPoints));
#pragma omp barrier
        transform_output(shared_M, s, plan, first, my_share(count), y);
      }
    }
  }
}

void winograd_conv2d_backward_weight(const float* x, const float* gy, float* gw,
                                     const Conv2dShape& s) {
  const int threads = team_size(s);
  const TilePlan plan(s, threads);
  const int64_t weight_floats = kPoints * s.C * s.K;
  const PaddedInput padded(plan);
  float* x_padded = thread_scratch(ScratchSlot::WinogradPadded, s.N * s.C * padded.plane);
  float* shared_V = plan.private_chunks ? nullptr : thread_scratch(ScratchSlot::WinogradTiles, kPoints * plan.chunk * s.C);
  float* shared_W = plan.private_chunks ? nullptr : thread_scratch(ScratchSlot::WinogradProducts, kPoints * plan.chunk * s.K);
  // dU: one sum per thread with private chunks (added up by transform_weight_grad), else one
  // shared sum whose points belong to one thread each.
  thread_local std::vector<float*> partial_slots;  // grow-only: no allocation in steady state
  if (partial_slots.size() < static_cast<size_t>(threads)) partial_slots.resize(threads);
  float** partials = partial_slots.data();
  if (!plan.private_chunks) partials[0] = thread_scratch(ScratchSlot::WinogradWeights, weight_floats);
  // dU[xi] (+)= W[xi]^T V[xi] for the points `points`; `first_chunk` overwrites.
  auto multiply = [&](const float* V, const float* W, float* dU, int64_t count, Range points, bool first_chunk) {
    for (int64_t xi = points.begin; xi < points.end; ++xi)
      gemm(true, false, s.K, s.C, count, 1.0f, W + xi * plan.chunk * s.K, s.K, V + xi * plan.chunk * s.C,
           s.C, first_chunk ? 0.0f : 1.0f, dU + xi * s.K * s.C, s.C);
  };
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    padded.fill(x, s, my_share(s.N * s.C), x_padded);
#pragma omp barrier
    if (plan.private_chunks) {
      float* V = thread_scratch(ScratchSlot::WinogradTiles, kPoints * plan.chunk * s.C);
      float* W = thread_scratch(ScratchSlot::WinogradProducts, kPoints * plan.chunk * s.K);
      float* dU = thread_scratch(ScratchSlot::WinogradWeights, weight_floats);
      partials[omp_get_thread_num()] = dU;
      const Range mine = my_share(plan.chunks);
      if (mine.begin == mine.end) std::fill(dU, dU + weight_floats, 0.0f);
      for (int64_t index = mine.begin; index < mine.end; ++index) {
        const int64_t first = index * plan.chunk, count = plan.count(index);
        transform_input(x_padded, padded, s, plan, first, {0, count}, V);
        transform_output_grad(gy, s, plan, first, {0, count}, W);
        multiply(V, W, dU, count, {0, kPoints}, index == mine.begin);
      }
    } else {
      for (int64_t index = 0; index < plan.chunks; ++index) {
        const int64_t first = index * plan.chunk, count = plan.count(index);
        const Range tiles = my_share(count);
        transform_input(x_padded, padded, s, plan, first, tiles, shared_V);
        transform_output_grad(gy, s, plan, first, tiles, shared_W);
#pragma omp barrier
        multiply(shared_V, shared_W, partials[0], count, my_share(kPoints), index == 0);
#pragma omp barrier
      }
    }
#pragma omp barrier
    transform_weight_grad(partials, plan.private_chunks ? omp_get_num_threads() : 1, s, my_share(s.K), gw);
  }
}

}  // namespace dlcore::kernels::cpu
