package org.sparkrlhf.cuda;

import java.util.function.Supplier;
import org.bytedeco.javacpp.Loader;

/**
 * Loads the CUDA libraries the backend needs, one at a time, so that a missing one is named. The
 * JNI bindings come with the application (JavaCPP's CUDA 13 presets); the libraries they bind come
 * from the node: the driver's libcuda, and cudart, NVRTC and cuBLAS from a CUDA 13 toolkit or
 * NVIDIA's pip wheels, found through LD_LIBRARY_PATH. NCCL is loaded only by the NCCL transport.
 */
public final class CudaLibraries {
    private CudaLibraries() {}

    private static volatile boolean core;

    /** The runtime, the driver API, NVRTC and cuBLAS, or a {@link CudaException} naming what is missing. */
    public static synchronized void loadCore() {
        if (core) return;
        load("the CUDA runtime and driver API (libcudart.so.13 from a CUDA 13 toolkit or the nvidia-cuda-runtime wheel, "
                + "and libcuda.so.1 from an NVIDIA driver >= 580)", () -> Loader.load(org.bytedeco.cuda.global.cudart.class));
        load("NVRTC, the run-time CUDA compiler (libnvrtc.so.13 from a CUDA 13 toolkit or the nvidia-cuda-nvrtc wheel)",
                () -> Loader.load(org.bytedeco.cuda.global.nvrtc.class));
        load("cuBLAS (libcublas.so.13 and libcublasLt.so.13 from a CUDA 13 toolkit or the nvidia-cublas wheel)",
                () -> Loader.load(org.bytedeco.cuda.global.cublas.class));
        core = true;
    }

    /** NCCL, for the collective transport between GPU ranks. */
    public static void loadNccl() {
        load("NCCL (libnccl.so.2 from the nvidia-nccl-cu13 wheel or NVIDIA's NCCL packages)",
                () -> Loader.load(org.bytedeco.cuda.global.nccl.class));
    }

    private static void load(String what, Supplier<String> loader) {
        try {
            loader.get();
        } catch (UnsatisfiedLinkError | NoClassDefFoundError | ExceptionInInitializerError e) {
            Throwable root = e;
            while (root.getCause() != null) root = root.getCause();
            throw new CudaException("model.device is cuda but " + what + " could not be loaded: " + root.getMessage()
                    + ". Put the library's folder on LD_LIBRARY_PATH (" + CudaException.README + ")", e);
        }
    }
}
