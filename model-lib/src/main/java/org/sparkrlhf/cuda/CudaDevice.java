package org.sparkrlhf.cuda;

import static org.bytedeco.cuda.global.cudart.*;

import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.cudart.cudaDeviceProp;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.SizeTPointer;

/**
 * One GPU, opened for this thread: its properties, memory, copies and timing. Every call's status is
 * checked and a failure names the call. The model's work all goes to the default stream, in order,
 * so a copy back to the host is also the point where the device's errors surface.
 *
 * <p>Not thread-safe: the driver API binds the device's context to the thread that opened it.
 */
public final class CudaDevice implements AutoCloseable {
    /** The oldest driver that runs the CUDA 13 libraries (CUDA 13.0 needs driver 580). */
    static final int MIN_DRIVER = 13000;

    private final int ordinal;
    private final String name;
    private final int major, minor, multiprocessors;
    private final long totalMemory;
    private final int driverVersion;

    private CudaDevice(int ordinal) {
        this.ordinal = ordinal;
        int[] count = {0}, driver = {0};
        int rc = cudaDriverGetVersion(driver);
        if (rc != cudaSuccess || driver[0] == 0)
            throw new CudaException("model.device is cuda but no NVIDIA driver answered (cudaDriverGetVersion: " + error(rc)
                    + "); install the NVIDIA driver on the node or run with model.device: cpu (" + CudaException.README + ")");
        if (driver[0] < MIN_DRIVER)
            throw new CudaException("the NVIDIA driver supports CUDA " + version(driver[0]) + " but this backend needs CUDA "
                    + version(MIN_DRIVER) + " (driver 580 or newer); upgrade the driver (" + CudaException.README + ")");
        this.driverVersion = driver[0];
        rc = cudaGetDeviceCount(count);
        if (rc == cudaErrorNoDevice || (rc == cudaSuccess && count[0] == 0))
            throw new CudaException("model.device is cuda but this machine has no CUDA GPU (cudaGetDeviceCount found none); "
                    + "run on a GPU node or set model.device: cpu (" + CudaException.README + ")");
        check(rc, "cudaGetDeviceCount");
        if (ordinal < 0 || ordinal >= count[0])
            throw new CudaException("GPU " + ordinal + " requested but this machine has " + count[0] + " (ordinals 0.." + (count[0] - 1) + ")");
        check(cudaSetDevice(ordinal), "cudaSetDevice(" + ordinal + ")");
        check(cudaFree(null), "creating the CUDA context on GPU " + ordinal);
        cudaDeviceProp p = new cudaDeviceProp();
        check(cudaGetDeviceProperties(p, ordinal), "cudaGetDeviceProperties");
        this.name = p.name().getString();
        this.major = p.major();
        this.minor = p.minor();
        this.multiprocessors = p.multiProcessorCount();
        this.totalMemory = p.totalGlobalMem();
        p.close();
    }

    /** Loads the libraries and opens GPU {@code ordinal} for the calling thread. */
    public static CudaDevice open(int ordinal) {
        CudaLibraries.loadCore();
        return new CudaDevice(ordinal);
    }

    public int ordinal() { return ordinal; }

    /** Makes this device (its primary context) current for the calling thread. */
    public void bindToThread() {
        check(cudaSetDevice(ordinal), "cudaSetDevice(" + ordinal + ")");
    }

    public String name() { return name; }

    /** The architecture NVRTC compiles for, e.g. "sm_90" on a Hopper GPU. */
    public String architecture() { return "sm_" + major + minor; }

    public int multiprocessors() { return multiprocessors; }

    public long totalMemory() { return totalMemory; }

    public String driverCuda() { return version(driverVersion); }

    public long freeMemory() {
        SizeTPointer free = new SizeTPointer(1), total = new SizeTPointer(1);
        check(cudaMemGetInfo(free, total), "cudaMemGetInfo");
        return free.get();
    }

    /** {@code floats} float32 values of device memory (contents undefined), or a clear out-of-memory error. */
    public DeviceMemory allocate(long floats, String what) {
        Pointer p = new Pointer();
        long bytes = Math.max(4, floats * 4);
        int rc = cudaMalloc(p, bytes);
        if (rc == cudaErrorMemoryAllocation) {
            cudaGetLastError(); // clear the sticky-free error so later calls report their own
            throw new CudaException(String.format("out of GPU memory allocating %s (%.2f GB) on %s (GPU %d, %.1f GB free of %.1f): "
                    + "lower the batch size or the model size", what, bytes / 1e9, name, ordinal, freeMemory() / 1e9, totalMemory / 1e9));
        }
        check(rc, "cudaMalloc(" + bytes + " bytes for " + what + ")");
        return new DeviceMemory(this, p.address(), floats, true);
    }

    void free(long address) {
        check(cudaFree(new Address(address)), "cudaFree");
    }

    public void upload(DeviceMemory dst, long dstOffset, float[] src, int srcOffset, int count) {
        dst.checkRange(dstOffset, count);
        try (FloatPointer host = new FloatPointer(count)) {
            host.put(src, srcOffset, count);
            check(cudaMemcpy(new Address(dst.address() + dstOffset * 4), host, count * 4L, cudaMemcpyHostToDevice), "copy to GPU");
        }
    }

    public void upload(DeviceMemory dst, int[] src) {
        dst.checkRange(0, src.length);
        try (IntPointer host = new IntPointer(src)) {
            check(cudaMemcpy(new Address(dst.address()), host, src.length * 4L, cudaMemcpyHostToDevice), "copy to GPU");
        }
    }

    public void upload(DeviceMemory dst, long[] src) {
        dst.checkRange(0, 2L * src.length);
        try (org.bytedeco.javacpp.LongPointer host = new org.bytedeco.javacpp.LongPointer(src)) {
            check(cudaMemcpy(new Address(dst.address()), host, src.length * 8L, cudaMemcpyHostToDevice), "copy to GPU");
        }
    }

    public void download(float[] dst, int dstOffset, DeviceMemory src, long srcOffset, int count) {
        src.checkRange(srcOffset, count);
        try (FloatPointer host = new FloatPointer(count)) {
            check(cudaMemcpy(host, new Address(src.address() + srcOffset * 4), count * 4L, cudaMemcpyDeviceToHost), "copy from GPU");
            host.get(dst, dstOffset, count);
        }
    }

    public void downloadInts(int[] dst, DeviceMemory src) {
        src.checkRange(0, dst.length);
        try (IntPointer host = new IntPointer(dst.length)) {
            check(cudaMemcpy(host, new Address(src.address()), dst.length * 4L, cudaMemcpyDeviceToHost), "copy from GPU");
            host.get(dst);
        }
    }

    public void copy(DeviceMemory dst, long dstOffset, DeviceMemory src, long srcOffset, long count) {
        dst.checkRange(dstOffset, count);
        src.checkRange(srcOffset, count);
        check(cudaMemcpy(new Address(dst.address() + dstOffset * 4), new Address(src.address() + srcOffset * 4), count * 4, cudaMemcpyDeviceToDevice), "device copy");
    }

    public void zero(DeviceMemory m) {
        check(cudaMemset(new Address(m.address()), 0, m.length() * 4), "cudaMemset");
    }

    /** Waits for all queued work; a kernel's asynchronous fault is reported here, naming {@code after}. */
    public void synchronize(String after) {
        check(cudaDeviceSynchronize(), "the GPU work queued before " + after);
    }

    /** Milliseconds of device time that {@code work} queues, timed with events. */
    public double time(Runnable work) {
        CUevent_st start = new CUevent_st(), stop = new CUevent_st();
        check(cudaEventCreate(start), "cudaEventCreate");
        check(cudaEventCreate(stop), "cudaEventCreate");
        check(cudaEventRecord(start, null), "cudaEventRecord");
        work.run();
        check(cudaEventRecord(stop, null), "cudaEventRecord");
        check(cudaEventSynchronize(stop), "the timed GPU work");
        float[] ms = {0};
        check(cudaEventElapsedTime(ms, start, stop), "cudaEventElapsedTime");
        cudaEventDestroy(start);
        cudaEventDestroy(stop);
        return ms[0];
    }

    static void check(int rc, String what) {
        if (rc != cudaSuccess) throw new CudaException(what + " failed: " + error(rc));
    }

    static String error(int rc) {
        try {
            return cudaGetErrorString(rc).getString() + " (cudaError " + rc + ")";
        } catch (RuntimeException e) {
            return "cudaError " + rc;
        }
    }

    private static String version(int v) {
        return v / 1000 + "." + (v % 1000) / 10;
    }

    @Override
    public void close() {
        cudaDeviceSynchronize();
    }

    /** A raw device or host address as a JavaCPP pointer argument. */
    static final class Address extends Pointer {
        Address(long address) {
            this.address = address;
        }
    }

    /** A device address as a float pointer argument (cuBLAS takes float*). */
    static final class FloatAddress extends FloatPointer {
        FloatAddress(long address) {
            super((Pointer) null);
            this.address = address;
        }
    }

    @Override
    public String toString() {
        return String.format("%s (GPU %d, %s, %d SMs, %.0f GB, driver CUDA %s)", name, ordinal, architecture(), multiprocessors, totalMemory / 1e9, driverCuda());
    }
}
