package org.sparkrlhf.cuda;

/**
 * A CUDA call failed, or the CUDA route cannot run on this machine. The message names the call or
 * the missing piece and where the README says how to provide it; there is never a silent fallback
 * to the CPU.
 */
public final class CudaException extends RuntimeException {
    /** Where the README explains the GPU set-up. */
    public static final String README = "README.md, section \"GPU executors (CUDA)\"";

    public CudaException(String message) {
        super(message);
    }

    public CudaException(String message, Throwable cause) {
        super(message, cause);
    }
}
