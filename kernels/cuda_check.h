/* cuda_check.h - error checks for every CUDA and cuBLAS call (llm.c cudaCheck,
 * ggml CUDA_CHECK): print the call, file:line and the error string, exit 1.
 * CUDA_LAUNCH_CHECK() after every kernel launch. */
#ifndef OB_CUDA_CHECK_H
#define OB_CUDA_CHECK_H

#include <cstdio>
#include <cstdlib>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#define CUDA_CHECK(call)                                                                  \
    do {                                                                                  \
        cudaError_t e_ = (call);                                                          \
        if (e_ != cudaSuccess) {                                                          \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call,          \
                    cudaGetErrorString(e_));                                              \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)

#define CUBLAS_CHECK(call)                                                                \
    do {                                                                                  \
        cublasStatus_t s_ = (call);                                                       \
        if (s_ != CUBLAS_STATUS_SUCCESS) {                                                \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call,          \
                    cublasGetStatusString(s_));                                           \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)

#define CUDA_LAUNCH_CHECK() CUDA_CHECK(cudaGetLastError())

#endif
