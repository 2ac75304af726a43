// The CUDA engine's choices and its devices: the path it takes for a batch
// (automatic, forced, from TSGD_CUDA_PATH), the GPUs it lists, and the error a
// factory without a GPU throws. Skips without a usable GPU (fails with
// TSGD_REQUIRE_GPU=1), except where the missing GPU is the point.
#ifdef TSGD_HAVE_CUDA

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "cuda/cuda_engine.h"
#include "tests/support/cuda_test_engine.h"
#include "tests/support/engine_factories.h"
#include "tests/support/gpu.h"

namespace tsgd {

using testing::as_cuda;
using testing::cuda_engine;
using testing::make_spec;

TEST(CudaEngine, PathSelection) {
  TSGD_SKIP_WITHOUT_GPU();
  auto engine = cuda_engine(Precision::float32, CudaPath::automatic);
  engine->load({make_spec(0, 1, 784, 4, 4)});
  EXPECT_EQ(as_cuda(*engine).path(), CudaPath::fused);
  engine->load({make_spec(0, 1, 5000, 4, 4)});  // N beyond the fused path
  EXPECT_EQ(as_cuda(*engine).path(), CudaPath::cublas);
  RunSpec wide = make_spec(0, 1, 100, 12, 8);  // K + M beyond the fused path
  engine->load({wide});
  EXPECT_EQ(as_cuda(*engine).path(), CudaPath::cublas);
  RunSpec batched = make_spec(0, 1, 100, 2, 2);
  batched.params.batch_size = 64;
  engine->load({batched});
  EXPECT_EQ(as_cuda(*engine).path(), CudaPath::cublas);

  auto forced = cuda_engine(Precision::float32, CudaPath::fused);
  EXPECT_THROW(forced->load({make_spec(0, 1, 5000, 2, 2)}), std::invalid_argument);

  // More runs than cuBLAS's batched kernels take: refused on the cuBLAS path
  // (tiny runs, N = 4), held by the fused path.
  std::vector<RunSpec> many(kCublasMaxRuns + 1, make_spec(0, 1, 4, 1, 1));
  for (std::size_t i = 0; i < many.size(); ++i) many[i].seed = i;
  auto cublas = cuda_engine(Precision::float32, CudaPath::cublas);
  try {
    cublas->load(many);
    ADD_FAILURE() << "the cuBLAS path took " << many.size() << " runs";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("at most 65535 runs"), std::string::npos) << e.what();
  }
  auto fused = cuda_engine(Precision::float32, CudaPath::fused);
  EXPECT_NO_THROW(fused->load(many));
  // The automatic choice takes the fused path for them even with B = 12.
  for (RunSpec& r : many) r.params.batch_size = 12;
  engine->load(many);
  EXPECT_EQ(as_cuda(*engine).path(), CudaPath::fused);
}

TEST(CudaEngine, PathFromEnvironment) {
  TSGD_SKIP_WITHOUT_GPU();
  const char* saved = std::getenv("TSGD_CUDA_PATH");
  const std::string previous = saved ? saved : "";
  setenv("TSGD_CUDA_PATH", "cublas", 1);
  auto engine = make_cuda_engine(Precision::float32);
  engine->load({make_spec(0, 1, 100, 2, 2)});
  EXPECT_EQ(as_cuda(*engine).path(), CudaPath::cublas);
  setenv("TSGD_CUDA_PATH", "sideways", 1);
  EXPECT_THROW(make_cuda_engine(Precision::float32), std::invalid_argument);
  if (saved) {
    setenv("TSGD_CUDA_PATH", previous.c_str(), 1);
  } else {
    unsetenv("TSGD_CUDA_PATH");
  }
}

TEST(CudaEngine, ListsGpusWithoutThrowing) {
  std::string why;
  const std::vector<GpuInfo> gpus = list_gpus(&why);
  EXPECT_EQ(cuda_available(), !gpus.empty());
  if (gpus.empty()) {
    EXPECT_FALSE(why.empty());
    if (::tsgd::testing::gpu_required()) FAIL() << "TSGD_REQUIRE_GPU=1: " << why;
  } else {
    EXPECT_GT(gpus[0].memory_bytes, 0u);
    EXPECT_GT(gpus[0].multiprocessors, 0);
  }
}

TEST(CudaEngine, LeavesTheCallersDeviceCurrent) {
  // An engine on device 1 built, used and destroyed while device 0 is current:
  // device 0 stays current throughout (each call makes its device current for
  // its own scope only).
  TSGD_SKIP_WITHOUT_GPU();
  if (list_gpus(nullptr).size() < 2) GTEST_SKIP() << "one GPU: the engine's device is the caller's";
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  const auto current = [] {
    int device = -1;
    EXPECT_EQ(cudaGetDevice(&device), cudaSuccess);
    return device;
  };
  {
    auto engine = make_cuda_engine(Precision::float32, 1);
    EXPECT_EQ(current(), 0) << "after the constructor";
    engine->load({make_spec(0, 1, 100, 2, 2)});
    engine->advance(10);
    std::vector<OrderParameters> op;
    engine->order_parameters(op);
    EXPECT_EQ(current(), 0) << "after load, advance and order_parameters";
  }
  EXPECT_EQ(current(), 0) << "after the destructor";
}

TEST(CudaEngine, WithoutAGpuTheFactoryThrowsCudaError) {
  if (!list_gpus(nullptr).empty())
    GTEST_SKIP() << "a GPU is usable: the failure without one cannot be provoked";
  try {
    make_cuda_engine(Precision::float32);
    FAIL() << "make_cuda_engine succeeded without a usable GPU";
  } catch (const CudaError& e) {
    // The failed call, the error text and file:line.
    const std::string what = e.what();
    EXPECT_NE(what.find("cudaSetDevice"), std::string::npos) << what;
    EXPECT_NE(what.find("cuda_engine.cu:"), std::string::npos) << what;
  }
}

}  // namespace tsgd

#endif  // TSGD_HAVE_CUDA
