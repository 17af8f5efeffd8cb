package org.sparkrlhf.cuda;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;

/** What a machine without a GPU says when asked for one. GPU behaviour itself is bin/gpu-check's (CI has no GPU). */
class CudaDeviceTest {

    @Test
    void withoutAGpuOpeningOneNamesWhatIsMissingAndWhereTheReadmeHelps() {
        CudaException e;
        try (CudaDevice d = CudaDevice.open(0)) {
            assumeTrue(false, "skipped: this machine has a usable GPU; bin/gpu-check tests it");
            return;
        } catch (CudaException x) {
            e = x;
        }
        String m = e.getMessage();
        assertTrue(m.contains("GPU executors (CUDA)"), m);
        // a missing library (named, e.g. libcuda.so.1), no device, or an old driver: each is said as such
        assertTrue(m.contains(".so") && m.contains("could not be loaded") || m.contains("no CUDA GPU") || m.contains("driver"), m);
    }

    @Test
    void rangesOfDeviceMemoryAreChecked() {
        DeviceMemory m = new DeviceMemory(null, 4096, 10, false);
        assertThrows(IndexOutOfBoundsException.class, () -> m.slice(8, 3));
        assertTrue(m.slice(2, 8).address() == 4096 + 8);
    }
}
