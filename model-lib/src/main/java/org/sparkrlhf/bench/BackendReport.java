package org.sparkrlhf.bench;

import java.util.Properties;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.sparkrlhf.tensor.Blas;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.tensor.Tensor;

/**
 * Which ND4J backend this JVM runs, on which devices, and whether a matrix product through it
 * agrees with OpenBLAS: the check for a node that runs the {@code -Pcuda} build
 * ({@code java -cp APP_JAR:$SPARK_HOME/jars/* org.sparkrlhf.bench.BackendReport}).
 */
public final class BackendReport {
    private BackendReport() {}

    /** The report's lines; the last says whether the product agreed. */
    public static String report() {
        StringBuilder out = new StringBuilder();
        Properties env = Nd4j.getExecutioner().getEnvironmentInformation();
        out.append("backend: ").append(Nd4j.getBackend().getClass().getSimpleName()).append(" (").append(env.getProperty("backend", "?")).append(")\n");
        out.append("devices: ").append(Nd4j.getAffinityManager().getNumberOfDevices()).append('\n');
        Object devices = env.get("cuda.devicesInformation");
        if (devices != null) out.append("device information: ").append(devices).append('\n');
        int n = 256;
        INDArray a = Nd4j.rand(DataType.FLOAT, n, n), b = Nd4j.rand(DataType.FLOAT, n, n);
        INDArray viaNd4j = a.mmul(b);
        Tensor ta = Tensor.zeros(DType.FLOAT32, n * n), tb = Tensor.zeros(DType.FLOAT32, n * n), tc = Tensor.zeros(DType.FLOAT32, n * n);
        float[] fa = a.data().asFloat(), fb = b.data().asFloat();
        for (int i = 0; i < n * n; i++) {
            ta.set(i, fa[i]);
            tb.set(i, fb[i]);
        }
        Blas.gemm(false, false, n, n, n, 1.0, ta, tb, 0.0, tc);
        double maxDiff = 0;
        float[] fc = viaNd4j.dup('c').data().asFloat();
        for (int i = 0; i < n * n; i++) maxDiff = Math.max(maxDiff, Math.abs(fc[i] - tc.get(i)));
        boolean ok = maxDiff < 1e-3;
        out.append(String.format("%dx%d product through the backend vs OpenBLAS: max difference %.2e: %s%n", n, n, maxDiff, ok ? "ok" : "MISMATCH"));
        return out.toString();
    }

    public static void main(String[] args) {
        String r = report();
        System.out.print(r);
        if (r.contains("MISMATCH")) System.exit(1);
    }
}
