// The fast Gaussian transform on a GPU (math/gaussian.h): the hardware
// approximations (lg2.approx, rsqrt.approx, sin.approx, cos.approx), which
// the SIMT emulator cannot run (it evaluates the host's C library functions),
// against the exact transform draw by draw and in distribution; and the two
// SGD paths with the fast transform against the CPU engine's fast transform.
// Part of the CudaEngine suite (scripts/gpu_check.sh); skip without a GPU,
// fail when TSGD_REQUIRE_GPU=1.
#ifdef TSGD_HAVE_CUDA

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <string>
#include <vector>

#include "cuda/cuda_engine.h"
#include "engines/cpu_engine.h"
#include "math/gaussian.h"
#include "tests/support/engine_factories.h"
#include "tests/support/gpu.h"
#include "tests/support/normality.h"

namespace tsgd {
namespace {

std::vector<OrderParameters> advanced(Engine& engine, const std::vector<RunSpec>& runs, int steps) {
  engine.load(runs);
  engine.advance(steps);
  std::vector<OrderParameters> out;
  engine.order_parameters(out);
  return out;
}

}  // namespace

TEST(CudaEngine, FastTransformOnTheGpuIsWithinItsBoundAndNormal) {
  TSGD_SKIP_WITHOUT_GPU();
  testing::NormalityCheck check;
  double worst = 0;
  const int count = 1 << 24;
  std::vector<float> exact(count);
  for (std::uint64_t mu = 0; mu < 4; ++mu) {
    const std::vector<float> fast =
        cuda_gaussians(77, Stream::input, mu, count, 0, RngTransform::fast);
    draw_input(77, mu, count, exact.data(), RngTransform::exact);
    for (int i = 0; i < count; i += 2) {
      const double r = std::hypot(exact[i], exact[i + 1]);
      for (int j = i; j < i + 2; ++j) {
        const double d = std::abs(double(fast[j]) - exact[j]);
        worst = std::max(worst, d);
        ASSERT_LE(d, testing::fast_transform_bound(r))
            << "mu " << mu << " coordinate " << j << ": fast " << fast[j] << " exact " << exact[j]
            << " (r " << r << ")";
      }
    }
    check.add(fast.data(), fast.size());
  }
  check.expect_standard_normal("GPU fast transform");
  // The label noise too (one draw, the first of its block).
  for (std::uint64_t mu : {0ull, 99ull, (1ull << 40) + 3}) {
    const float gpu = cuda_gaussians(5, Stream::label_noise, mu, 1, 0, RngTransform::fast)[0];
    const float host = gaussian_at(5, Stream::label_noise, mu, 0, RngTransform::exact);
    EXPECT_LE(std::abs(double(gpu) - host), testing::fast_transform_bound(std::abs(host)) + 6e-4);
  }
  std::cout << "largest |fast - exact| over " << 4 * count << " draws: " << worst << "\n";
}

TEST(CudaEngine, CpuAndGpuAgreeWithTheFastTransform) {
  TSGD_SKIP_WITHOUT_GPU();
  // 300 steps at N = 500 of an erf SCM with noise, both paths, in float32:
  // the GPU's fast draws are the CPU's to within ~1e-5 relative (the bound
  // above), a perturbation of the updates far below the float tolerance of
  // CpuAndGpuAgreeAfter1000Steps (1e-3 on order parameters of order one),
  // which is kept here.
  RunSpec spec = testing::make_spec(0, 21, 500, 3, 2);
  spec.params.lr = 0.3;
  spec.params.sigma = 0.1;
  RunSpec batch = spec;
  batch.point_id = 1;
  batch.params.batch_size = 3;
  const std::vector<RunSpec> runs = {spec, batch};
  auto cpu = make_cpu_engine(Precision::float32, 2, RngTransform::fast);
  const auto expected = advanced(*cpu, runs, 300);
  for (CudaPath path : {CudaPath::fused, CudaPath::cublas}) {
    CudaOptions options;
    options.path = path;
    options.rng_transform = RngTransform::fast;
    auto gpu = make_cuda_engine(Precision::float32, options);
    EXPECT_EQ(gpu->rng_transform(), RngTransform::fast);
    const auto got = advanced(*gpu, runs, 300);
    EXPECT_EQ(dynamic_cast<CudaEngine&>(*gpu).path(), path);
    for (std::size_t r = 0; r < runs.size(); ++r)
      testing::expect_near(
          got[r], expected[r], 1e-3,
          std::string(path == CudaPath::fused ? "fused" : "cublas") + " run " + std::to_string(r));
  }
}

}  // namespace tsgd

#endif  // TSGD_HAVE_CUDA
