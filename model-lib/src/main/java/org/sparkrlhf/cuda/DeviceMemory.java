package org.sparkrlhf.cuda;

/**
 * A run of float32 values in GPU memory: an address and a length, like {@link org.sparkrlhf.tensor.Tensor}
 * on the host. Slices share the memory; only the allocation itself frees it.
 */
public final class DeviceMemory implements AutoCloseable {
    private final CudaDevice device;
    private final long address, length;
    private final boolean owner;
    private boolean freed;

    DeviceMemory(CudaDevice device, long address, long length, boolean owner) {
        this.device = device;
        this.address = address;
        this.length = length;
        this.owner = owner;
    }

    public long address() {
        if (freed) throw new IllegalStateException("GPU memory used after it was freed");
        return address;
    }

    public long length() {
        return length;
    }

    /** The elements [offset, offset + count) of this memory (shared, not copied). */
    public DeviceMemory slice(long offset, long count) {
        checkRange(offset, count);
        return new DeviceMemory(device, address + offset * 4, count, false);
    }

    void checkRange(long offset, long count) {
        if (offset < 0 || count < 0 || offset + count > length)
            throw new IndexOutOfBoundsException("GPU range [" + offset + ", " + (offset + count) + ") outside [0, " + length + ")");
    }

    @Override
    public void close() {
        if (owner && !freed) {
            device.free(address);
            freed = true;
        }
    }
}
