package org.sparkrlhf.cuda;

import static org.bytedeco.cuda.global.cudart.CUDA_SUCCESS;
import static org.bytedeco.cuda.global.cudart.cuFuncSetAttribute;
import static org.bytedeco.cuda.global.cudart.cuLaunchKernel;
import static org.bytedeco.cuda.global.cudart.cuModuleGetFunction;
import static org.bytedeco.cuda.global.cudart.cuModuleLoadData;
import static org.bytedeco.cuda.global.cudart.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES;
import static org.bytedeco.cuda.global.nvrtc.*;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUmod_st;
import org.bytedeco.cuda.nvrtc._nvrtcProgram;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;

/**
 * The model's CUDA C kernels ({@code gpt_kernels.cu}), compiled by NVRTC straight to CUBIN for the
 * device's architecture (PTX from an NVRTC newer than the driver would not load) and cached on disk
 * per source, options and architecture, so only the first run on a node pays the compile.
 */
public final class CudaKernels {
    static final String SOURCE = "gpt_kernels.cu";

    private final CudaDevice device;
    private final CUmod_st module = new CUmod_st();
    private final Map<String, CUfunc_st> functions = new HashMap<>();
    private final boolean fromCache;
    private Profiler profiler;
    // one argument block, reused: launches come from the device's one thread
    private final LongPointer argValues = new LongPointer(32);
    private final PointerPointer<?> argPointers = new PointerPointer<>(32);

    private CudaKernels(CudaDevice device, byte[] cubin, boolean fromCache) {
        this.device = device;
        this.fromCache = fromCache;
        try (BytePointer image = new BytePointer(cubin)) {
            int rc = cuModuleLoadData(module, image);
            if (rc != CUDA_SUCCESS)
                throw new CudaException("loading the compiled kernels on " + device.name() + " failed (CUresult " + rc + ")");
        }
        for (int i = 0; i < 32; i++) argPointers.put(i, new CudaDevice.Address(argValues.address() + 8L * i));
    }

    /** Compiles (or finds in {@code cacheDir}) the kernels for this device and loads them. */
    public static CudaKernels load(CudaDevice device, Path cacheDir) {
        String source = source();
        List<String> options = options(device.architecture());
        String key = sha256(source + "\n" + options + "\n" + nvrtcVersion());
        Path cached = cacheDir.resolve("gpt_kernels-" + key.substring(0, 16) + "-" + device.architecture() + ".cubin");
        try {
            if (Files.isRegularFile(cached)) return new CudaKernels(device, Files.readAllBytes(cached), true);
            byte[] cubin = compile(source, options);
            Files.createDirectories(cacheDir);
            Path tmp = Files.createTempFile(cacheDir, "cubin", ".tmp");
            Files.write(tmp, cubin);
            Files.move(tmp, cached, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return new CudaKernels(device, cubin, false);
        } catch (IOException e) {
            throw new UncheckedIOException("kernel cache " + cacheDir + ": " + e.getMessage(), e);
        }
    }

    /** The default cache: $SPARK_RLHF_CUDA_CACHE, else ~/.cache/spark-rlhf/cuda. */
    public static Path defaultCache() {
        String env = System.getenv("SPARK_RLHF_CUDA_CACHE");
        return env != null && !env.isBlank() ? Path.of(env) : Path.of(System.getProperty("user.home"), ".cache", "spark-rlhf", "cuda");
    }

    /** Times every launch from now on (null stops). */
    public void profile(Profiler p) {
        this.profiler = p;
    }

    public boolean fromCache() {
        return fromCache;
    }

    static String source() {
        try (InputStream in = CudaKernels.class.getResourceAsStream(SOURCE)) {
            if (in == null) throw new IllegalStateException(SOURCE + " missing from the classpath (a broken build)");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** NVRTC options: CUBIN for exactly this architecture, no fast-math (the CPU reference checks every kernel). */
    static List<String> options(String architecture) {
        return List.of("--gpu-architecture=" + architecture, "--std=c++17", "-default-device");
    }

    static String nvrtcVersion() {
        int[] major = {0}, minor = {0};
        org.bytedeco.cuda.global.nvrtc.nvrtcVersion(major, minor);
        return major[0] + "." + minor[0];
    }

    static byte[] compile(String source, List<String> options) {
        _nvrtcProgram program = new _nvrtcProgram();
        check(nvrtcCreateProgram(program, new BytePointer(source), new BytePointer(SOURCE), 0, (PointerPointer<?>) null, (PointerPointer<?>) null), "nvrtcCreateProgram");
        try {
            PointerPointer<?> opts = new PointerPointer<>(options.toArray(new String[0]));
            int rc = nvrtcCompileProgram(program, options.size(), opts);
            if (rc != NVRTC_SUCCESS)
                throw new CudaException("NVRTC could not compile " + SOURCE + " (" + nvrtcGetErrorString(rc).getString() + "):\n" + log(program));
            SizeTPointer size = new SizeTPointer(1);
            check(nvrtcGetCUBINSize(program, size), "nvrtcGetCUBINSize");
            byte[] cubin = new byte[(int) size.get()];
            check(nvrtcGetCUBIN(program, cubin), "nvrtcGetCUBIN");
            return cubin;
        } finally {
            nvrtcDestroyProgram(program);
        }
    }

    private static String log(_nvrtcProgram program) {
        SizeTPointer size = new SizeTPointer(1);
        nvrtcGetProgramLogSize(program, size);
        byte[] log = new byte[(int) size.get()];
        nvrtcGetProgramLog(program, log);
        return new String(log, StandardCharsets.UTF_8).trim();
    }

    private static void check(int rc, String what) {
        if (rc != NVRTC_SUCCESS) throw new CudaException(what + " failed: " + nvrtcGetErrorString(rc).getString());
    }

    private CUfunc_st function(String name) {
        return functions.computeIfAbsent(name, n -> {
            CUfunc_st f = new CUfunc_st();
            int rc = cuModuleGetFunction(f, module, n);
            if (rc != CUDA_SUCCESS) throw new CudaException("kernel '" + n + "' is not in " + SOURCE + " (CUresult " + rc + ")");
            return f;
        });
    }

    /** Lets {@code kernel} use more than 48 KB of dynamic shared memory. */
    public void allowSharedMemory(String kernel, int bytes) {
        int rc = cuFuncSetAttribute(function(kernel), CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes);
        if (rc != CUDA_SUCCESS) throw new CudaException("cuFuncSetAttribute(" + kernel + ", " + bytes + " bytes) failed (CUresult " + rc + ")");
    }

    /**
     * Queues {@code kernel} on a grid of (gx, gy) blocks of (bx, by) threads. Arguments are
     * {@link DeviceMemory} (its address), Integer, Long or Float, in the kernel's order.
     */
    public void launch(String kernel, int gx, int gy, int bx, int by, int sharedBytes, Object... args) {
        if (args.length > 32) throw new IllegalArgumentException("at most 32 kernel arguments");
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            long v;
            if (a instanceof DeviceMemory m) v = m.address();
            else if (a instanceof Integer x) v = x & 0xffffffffL;
            else if (a instanceof Long x) v = x;
            else if (a instanceof Float x) v = Float.floatToRawIntBits(x) & 0xffffffffL;
            else if (a == null) v = 0;
            else throw new IllegalArgumentException("kernel argument " + i + " of " + kernel + " has unsupported type " + a.getClass());
            argValues.put(i, v);
        }
        if (profiler != null) profiler.begin(kernel, 0);
        int rc = cuLaunchKernel(function(kernel), gx, gy, 1, bx, by, 1, sharedBytes, null, argPointers, null);
        if (profiler != null) profiler.end();
        if (rc != CUDA_SUCCESS)
            throw new CudaException("launching " + kernel + " (grid " + gx + "x" + gy + ", block " + bx + "x" + by + ") on " + device.name() + " failed (CUresult " + rc + ")");
    }

    /** A 1-D launch over {@code n} elements, 256 threads per block. */
    public void launch1d(String kernel, long n, Object... args) {
        long blocks = (n + 255) / 256;
        if (blocks > Integer.MAX_VALUE) throw new IllegalArgumentException(kernel + ": " + n + " elements is too many for one launch");
        launch(kernel, (int) Math.max(1, blocks), 1, 256, 1, 0, args);
    }

    static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
